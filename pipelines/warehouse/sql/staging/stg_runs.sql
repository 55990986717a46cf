-- grain: one row per loaded run of the dataset (kinds crawl/browser; scans never enter)
CREATE OR REPLACE VIEW stg_runs AS
SELECT run_id, kind, CAST(started_at AS TIMESTAMPTZ) AS started_at, CAST(ended_at AS TIMESTAMPTZ) AS ended_at
FROM _runs
WHERE kind IN ('crawl', 'browser');
