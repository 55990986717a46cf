-- The hosts a run's sites load that the build's attribution (_host_services) gives to a service detected on
-- the same site: (service_id, host) for the risk model's server locations.
SELECT DISTINCT d.service_id, r.host
FROM (SELECT DISTINCT run_id, input_domain, service_id FROM detections WHERE run_id = ?) d
JOIN raw_resources r ON r.run_id = d.run_id AND r.input_domain = d.input_domain
JOIN _host_services hs ON hs.run_id = r.run_id AND hs.host = r.host AND hs.service_id = d.service_id
