-- grain (service_risk): one row per run and detected curated service: consent verdict, score, band, factors,
-- the recipient of the data (jurisdiction and DPF status scored) and the EEA contracting entity beside it
-- grain (site_service_risk): one row per run, site and detected curated service
-- Each run is assessed on its own date with the catalog version recorded for it (catalog_version); a rebuild
-- never changes a stored run's verdict unless that version moves. An indicator, not legal advice.
CREATE OR REPLACE TABLE service_risk_all AS
SELECT * FROM _service_risk ORDER BY run_id, risk_score DESC, service_id;
CREATE OR REPLACE VIEW service_risk AS
SELECT * FROM service_risk_all WHERE run_id = (SELECT run_id FROM int_latest_run);
CREATE OR REPLACE TABLE site_service_risk_all AS
SELECT * FROM _site_service_risk ORDER BY run_id, site_input, service_id;
CREATE OR REPLACE VIEW site_service_risk AS
SELECT * FROM site_service_risk_all WHERE run_id = (SELECT run_id FROM int_latest_run);
-- grain (risk_changes): one row per run, service and catalog-version move that changed its verdict, band or
-- score (the run was re-assessed with the new version; old runs included)
CREATE OR REPLACE TABLE risk_changes_all AS
SELECT * FROM _risk_changes ORDER BY changed_at, run_id, service_id;
CREATE OR REPLACE VIEW risk_changes AS
SELECT * FROM risk_changes_all WHERE run_id = (SELECT run_id FROM int_latest_run);
-- sites gain their worst band
CREATE OR REPLACE TABLE sites_all AS
SELECT s.*, r.max_risk_band, coalesce(r.high_risk_services, 0) AS high_risk_services
FROM sites_all s
LEFT JOIN (
    SELECT run_id, site_input,
           CASE max(CASE band WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'very_high' THEN 4 END)
               WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high' WHEN 4 THEN 'very_high' END AS max_risk_band,
           count(*) FILTER (WHERE band IN ('high', 'very_high')) AS high_risk_services
    FROM site_service_risk_all GROUP BY ALL
) r USING (run_id, site_input)
ORDER BY run_id, site_input;
CREATE OR REPLACE VIEW sites AS
SELECT * FROM sites_all WHERE run_id = (SELECT run_id FROM int_latest_run);
