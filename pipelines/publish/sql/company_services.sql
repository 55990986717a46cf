-- one row per service of a company in the newest run with its share and verdict, most widespread first
SELECT s.service_id, s.name, s.sites, s.sites_total, s.share, r.consent_required, r.band
FROM services s LEFT JOIN service_risk r USING (service_id)
WHERE s.company_id = $company_id
ORDER BY s.share DESC, s.service_id
