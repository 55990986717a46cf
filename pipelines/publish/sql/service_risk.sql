-- a service's consent verdict and risk assessment in the newest run (one row)
SELECT * FROM service_risk WHERE service_id = $service_id
