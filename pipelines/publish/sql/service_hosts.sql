-- one row per host attributed to a service in the newest run: its countries, networks and DNS status
SELECT host, countries, asns, as_orgs, location_confidence, dns_status FROM hosts WHERE service_id = $service_id
ORDER BY sites DESC, host
