-- the pages fetched for the site
SELECT page_kind, url, final_url, status, error_class, title
FROM raw_pages
WHERE run_id = $run_id AND input_domain = $site_input
ORDER BY fetched_at
