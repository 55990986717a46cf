-- one run's start (one row)
SELECT CAST(started_at AS VARCHAR) AS started_at FROM stg_runs WHERE run_id = $run_id
