-- one row per cookie name a run saw (any site, any pass)
SELECT DISTINCT name FROM stg_cookies WHERE run_id = $run_id ORDER BY name
