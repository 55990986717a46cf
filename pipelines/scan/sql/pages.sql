-- the pages fetched for the site
SELECT page_kind, url, final_url, status, error_class, title, coalesce(method, 'static') AS method,
       coalesce(consent_state, 'none') AS consent_state, coalesce(signal, 'none') AS signal
FROM raw_pages
WHERE run_id = $run_id AND input_domain = $site_input
ORDER BY fetched_at
