-- grain: one row per piece of evidence that a page embeds a service, with how the page embeds it and whether it
-- shows the service loading without a consent gate (pipelines/catalog/detect.py decides both)
CREATE OR REPLACE VIEW stg_detections AS
SELECT run_id, input_domain, site, page_url, service_id, kind AS evidence_kind, evidence, seen_in,
       nullif(host, '') AS host, coalesce(method, 'static') AS method,
       coalesce(consent_state, 'none') AS consent_state, coalesce(signal, 'none') AS signal, embedding,
       coalesce(loads_without_gate, false) AS loads_without_gate
FROM detections;
