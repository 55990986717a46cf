-- grain: one row per run and detected service; prevalence among successfully crawled sites (outcome ok)
-- share = sites / sites_total (every embedding counts: direct, gated, encoded, config, hint);
-- share_without_gate = sites_without_gate / sites_total (the sites that load it without a consent gate);
-- *_ci_low/high = Wilson 95% score interval (z = 1.96; int_shares' macros)
CREATE OR REPLACE TABLE services_all AS
WITH totals AS (
    SELECT run_id, count(*) AS sites_total FROM sites_all WHERE outcome = 'ok' GROUP BY run_id
), counts AS (
    SELECT ss.run_id, ss.service_id, count(DISTINCT ss.site_input) AS sites,
           count(DISTINCT ss.site_input) FILTER (WHERE ss.loads_without_gate) AS sites_without_gate
    FROM site_services_all ss
    JOIN sites_all s ON s.run_id = ss.run_id AND s.site_input = ss.site_input AND s.outcome = 'ok'
    GROUP BY ALL
), shares AS (
    SELECT c.*, t.sites_total FROM counts c JOIN totals t USING (run_id)
)
SELECT
    w.run_id,
    w.service_id,
    sv.name,
    sv.category,
    sv.company_id,
    sv.curated,
    w.sites,
    w.sites_total,
    w.sites / w.sites_total AS share,
    wilson_low(w.sites, w.sites_total) AS share_ci_low,
    wilson_high(w.sites, w.sites_total) AS share_ci_high,
    w.sites_without_gate,
    w.sites_without_gate / w.sites_total AS share_without_gate,
    wilson_low(w.sites_without_gate, w.sites_total) AS share_without_gate_ci_low,
    wilson_high(w.sites_without_gate, w.sites_total) AS share_without_gate_ci_high
FROM shares w
LEFT JOIN _services sv USING (service_id)
ORDER BY run_id, sites DESC, service_id;
CREATE OR REPLACE VIEW services AS
SELECT * FROM services_all WHERE run_id = (SELECT run_id FROM int_latest_run);
