-- first-party subdomains of the site whose CNAME chain reaches a tracker
SELECT host, cname_target, tracker, tracker_domain, service_id, cname_depth, source, as_of
FROM cloaking_all
WHERE run_id = $run_id AND site = $site
ORDER BY host
