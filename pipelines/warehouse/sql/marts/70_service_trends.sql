-- grain: one row per run that has a previous run of its panel (int_run_pairs), and service seen in either of the
-- two runs; change of share run over run, flagged when it moved by more than its interval
CREATE OR REPLACE TABLE service_trends_all AS
WITH pairs AS (
    SELECT r.run_id, r.prev_run_id, r.panel, x.service_id
    FROM int_run_pairs r
    JOIN (SELECT run_id, service_id FROM services_all) x ON x.run_id IN (r.run_id, r.prev_run_id)
    WHERE r.prev_run_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    p.run_id,
    p.prev_run_id,
    p.panel,
    p.service_id,
    coalesce(prev.sites, 0) AS prev_sites,
    coalesce(cur.sites, 0) AS sites,
    coalesce(prev.share, 0.0) AS prev_share,
    coalesce(cur.share, 0.0) AS share,
    coalesce(cur.share, 0.0) - coalesce(prev.share, 0.0) AS share_change,
    CASE
        WHEN prev.service_id IS NULL THEN 'new'
        WHEN cur.service_id IS NULL THEN 'gone'
        ELSE share_movement(cur.share, cur.share_ci_low, cur.share_ci_high, prev.share, prev.share_ci_low,
                            prev.share_ci_high)
    END AS movement
FROM pairs p
LEFT JOIN services_all cur ON cur.run_id = p.run_id AND cur.service_id = p.service_id
LEFT JOIN services_all prev ON prev.run_id = p.prev_run_id AND prev.service_id = p.service_id
ORDER BY run_id, service_id;
CREATE OR REPLACE VIEW service_trends AS
SELECT * FROM service_trends_all WHERE run_id = (SELECT run_id FROM int_latest_run);
