-- how the site's privacy policy names each detected service (checked when the scan's warehouse was built)
SELECT service_id, status, term, policy_url, excerpt
FROM site_service_policy_all
WHERE run_id = $run_id AND site_input = $site_input
