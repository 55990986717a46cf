-- one row per service of the newest run for the index: company, recipient jurisdiction, share, verdict and the
-- main server country (the country on most sites, measured locations before uncertain ones)
SELECT s.service_id, s.name, s.category, s.company_id, c.name AS company_name, s.curated,
       s.sites, s.sites_total, s.share, s.share_ci_low, s.share_ci_high, r.consent_required, r.band,
       r.risk_score, coalesce(r.recipient_country, c.country) AS recipient_country,
       r.recipient_dpf_status, r.jurisdiction_class,
       (SELECT l.country FROM service_locations l WHERE l.service_id = s.service_id AND l.country <> 'unknown'
        ORDER BY (l.confidence = 'measured') DESC, l.sites DESC, l.country LIMIT 1) AS main_country,
       (SELECT l.confidence FROM service_locations l WHERE l.service_id = s.service_id AND l.country <> 'unknown'
        ORDER BY (l.confidence = 'measured') DESC, l.sites DESC, l.country LIMIT 1) AS main_country_confidence
FROM services s
LEFT JOIN service_risk r USING (service_id)
LEFT JOIN companies c ON c.company_id = s.company_id
ORDER BY s.share DESC, s.service_id
