-- a service of the newest run: its name, category, company and whether the catalog curates it (one row)
SELECT name, category, company_id, curated FROM services WHERE service_id = $service_id
