-- one row per service of the newest run (the service pages to build)
SELECT service_id FROM services ORDER BY service_id
