-- browser-mode scan: the consent banner autoconsent found on the home page and how each pass went
-- (no rows for a static scan)
SELECT consent_state, signal, any_value(cmp) AS cmp, any_value(consent_result) AS consent_result,
       any_value(error_class) AS error_class
FROM stg_pages
WHERE run_id = $run_id AND input_domain = $site_input AND method = 'browser' AND page_kind = 'home'
GROUP BY consent_state, signal
ORDER BY CASE consent_state WHEN 'none' THEN 0 WHEN 'accept' THEN 1 ELSE 2 END, signal
