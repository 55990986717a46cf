-- evidence pack: the cookies behind each service (a cookie detection by name, or a cookie a detected host receives:
-- its own or its parent domain's), with when the page that showed them was fetched; values were never stored
SELECT DISTINCT d.service_id, c.name, c.domain, c.path, c.expires, c.max_age, c.session, c.secure, c.http_only,
       c.same_site, c.third_party, c.set_by_host, c.page_url, c.method, c.consent_state, c.signal,
       p.fetched_at AS seen_at
FROM stg_detections d
JOIN stg_cookies c ON c.run_id = d.run_id AND c.input_domain = d.input_domain
                  AND ((d.evidence_kind = 'cookie' AND c.name = d.evidence)
                       OR (d.host IS NOT NULL AND (d.host = ltrim(lower(c.domain), '.')
                                                   OR d.host LIKE '%.' || ltrim(lower(c.domain), '.'))))
LEFT JOIN stg_pages p ON p.run_id = c.run_id AND p.input_domain = c.input_domain AND p.url = c.page_url
                     AND p.method = c.method AND p.consent_state = c.consent_state AND p.signal = c.signal
WHERE d.run_id = $run_id AND d.input_domain = $site_input
ORDER BY d.service_id, c.method, c.consent_state, c.signal, c.name, c.domain
