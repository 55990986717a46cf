-- grain: one row per reference a page made (CSP-declared hosts included, flagged)
CREATE OR REPLACE VIEW stg_resources AS
SELECT run_id, input_domain, page_url, url, lower(host) AS host, element, attribute, rel, inline, declared,
       coalesce(gated, false) AS gated, coalesce(method, 'static') AS method,
       coalesce(consent_state, 'none') AS consent_state, coalesce(signal, 'none') AS signal, resource_type,
       initiator, status, failure, remote_ip, requested_at
FROM raw_resources
WHERE host IS NOT NULL AND host <> '';
