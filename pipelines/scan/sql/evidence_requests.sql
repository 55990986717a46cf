-- evidence pack: the requests (browser) or references (static HTML) behind each service's detections, with the
-- page they were seen on and when: a browser request's own time, else the page's fetch time
SELECT DISTINCT d.service_id, r.url, r.host, r.page_url, r.element, r.attribute, r.initiator, r.status, r.remote_ip,
       r.failure, r.gated, r.method, r.consent_state, r.signal, r.requested_at, p.fetched_at AS page_fetched_at
FROM stg_detections d
JOIN stg_resources r ON r.run_id = d.run_id AND r.input_domain = d.input_domain AND r.page_url = d.page_url
                    AND r.method = d.method AND r.consent_state = d.consent_state AND r.signal = d.signal
                    AND NOT r.declared
                    AND (CASE WHEN d.evidence_kind IN ('url_pattern', 'path') THEN r.url = d.evidence
                              ELSE r.host = d.host END)
LEFT JOIN stg_pages p ON p.run_id = r.run_id AND p.input_domain = r.input_domain AND p.url = r.page_url
                     AND p.method = r.method AND p.consent_state = r.consent_state AND p.signal = r.signal
WHERE d.run_id = $run_id AND d.input_domain = $site_input AND d.host IS NOT NULL
ORDER BY d.service_id, r.method, r.consent_state, r.signal, r.page_url, coalesce(r.requested_at, p.fetched_at), r.url
