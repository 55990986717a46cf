-- the scanned site's row (one input domain) in its scan run
SELECT run_id, site_input, site, outcome, error_class, final_url, cross_site_redirect, pages_ok, pages_failed,
       third_party_hosts, services, max_risk_band, high_risk_services
FROM sites_all
WHERE run_id = $run_id AND site_input = $site_input
