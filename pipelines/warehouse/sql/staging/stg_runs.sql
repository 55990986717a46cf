-- grain: one row per loaded run of the dataset (kinds crawl/browser, listed in _dataset_kinds by the build;
-- a scan's own warehouse lists kind scan; scans never enter a dataset's warehouse)
CREATE OR REPLACE VIEW stg_runs AS
SELECT run_id, kind, CAST(started_at AS TIMESTAMPTZ) AS started_at, CAST(ended_at AS TIMESTAMPTZ) AS ended_at
FROM _runs
WHERE kind IN (SELECT kind FROM _dataset_kinds);
