-- grain: one row per run, site and detected service, with the kinds of evidence seen and how the site embeds it
CREATE OR REPLACE TABLE site_services_all AS
SELECT
    d.run_id,
    d.input_domain AS site_input,
    any_value(d.site) AS site,
    d.service_id,
    list_sort(list_distinct(list(d.evidence_kind))) AS evidence_kinds,
    count(*) AS evidence_count,
    count(DISTINCT d.page_url) AS pages,
    min(d.evidence) AS example_evidence,
    list_sort(list_distinct(list(d.embedding))) AS embeddings,
    coalesce(bool_or(d.loads_without_gate), false) AS loads_without_gate
FROM stg_detections d
JOIN stg_runs USING (run_id)
GROUP BY d.run_id, d.input_domain, d.service_id
ORDER BY run_id, site_input, service_id;
CREATE OR REPLACE VIEW site_services AS
SELECT * FROM site_services_all WHERE run_id = (SELECT run_id FROM int_latest_run);
