-- evidence pack: every request or reference to one of the given hosts (third-party hosts without a service)
SELECT DISTINCT r.host, r.url, r.page_url, r.element, r.attribute, r.initiator, r.status, r.remote_ip, r.failure,
       r.gated, r.method, r.consent_state, r.signal, r.requested_at, p.fetched_at AS page_fetched_at
FROM stg_resources r
LEFT JOIN stg_pages p ON p.run_id = r.run_id AND p.input_domain = r.input_domain AND p.url = r.page_url
                     AND p.method = r.method AND p.consent_state = r.consent_state AND p.signal = r.signal
WHERE r.run_id = $run_id AND r.input_domain = $site_input AND NOT r.declared AND list_contains($hosts, r.host)
ORDER BY r.host, r.method, r.consent_state, r.signal, r.page_url, coalesce(r.requested_at, p.fetched_at), r.url
