-- per detected service: the hosts its evidence came from, with their DNS outcome and located servers
SELECT DISTINCT d.service_id, d.host, h.dns_status, h.countries, h.asns, h.as_orgs, h.location_confidence
FROM stg_detections d
LEFT JOIN hosts_all h ON h.run_id = d.run_id AND h.host = d.host
WHERE d.run_id = $run_id AND d.input_domain = $site_input AND d.host IS NOT NULL
ORDER BY d.service_id, d.host
