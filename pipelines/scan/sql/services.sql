-- one row per service detected on the site, with its consent verdict and company facts (curated services only
-- have a verdict; long-tail services from third-party-web come with name, category and company); the consent
-- columns are filled for a browser-mode scan only
SELECT ss.service_id, coalesce(s.name, ss.service_id) AS name, s.category, s.curated, s.company_id,
       ss.evidence_kinds, ss.evidence_count, ss.pages, ss.example_evidence, ss.embeddings, ss.loads_without_gate,
       r.consent_required, r.band, r.risk_score, r.confidence, r.reasons, r.server_class, r.jurisdiction_class,
       r.us_jurisdiction, r.as_of, r.recipient_id, r.recipient_name, r.recipient_country, r.recipient_dpf_status,
       r.contracting_id, r.contracting_name, r.contracting_country, r.security_findings,
       rc.name AS company_name, rc.country AS company_country, rc.city AS company_city, c.parent_chain,
       c.ultimate_parent_id, c.ultimate_parent_country, c.us_jurisdiction AS company_us_jurisdiction, rc.dpf_status,
       rc.dpf_checked_on,
       c.as_of AS company_as_of,
       k.fires_before_consent, k.fires_after_accept, k.fires_after_reject, k.fires_with_gpc, k.browser_only,
       k.static_seen, k.cmp
FROM site_services_all ss
LEFT JOIN _services s USING (service_id)
LEFT JOIN site_service_risk_all r ON r.run_id = ss.run_id AND r.site_input = ss.site_input
                                 AND r.service_id = ss.service_id
LEFT JOIN _companies c ON c.company_id = s.company_id
LEFT JOIN _run_companies rc ON rc.run_id = ss.run_id AND rc.company_id = s.company_id
LEFT JOIN site_service_consent_all k ON k.run_id = ss.run_id AND k.site_input = ss.site_input
                                    AND k.service_id = ss.service_id
WHERE ss.run_id = $run_id AND ss.site_input = $site_input
ORDER BY CASE r.band WHEN 'very_high' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
         s.curated DESC NULLS LAST, name
