-- one row per server country of a service's hosts in the newest run, most sites first
SELECT country, confidence, hosts, sites FROM service_locations WHERE service_id = $service_id
ORDER BY sites DESC, country
