-- the services detected on each site of one run (any page, any pass), for the privacy-policy check
SELECT DISTINCT input_domain, service_id
FROM detections
WHERE run_id = ?
ORDER BY input_domain, service_id
