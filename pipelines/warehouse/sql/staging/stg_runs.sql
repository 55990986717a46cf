-- grain: one row per loaded run of the dataset (kinds crawl/browser, listed in _dataset_kinds by the build;
-- a scan's own warehouse lists kind scan; scans never enter a dataset's warehouse). panel: the runs that may be
-- compared with each other: the name given with --panel, else the input list's checksum (a different list is
-- another panel), 'unknown' for runs whose manifest records neither
CREATE OR REPLACE VIEW stg_runs AS
SELECT run_id, kind, CAST(started_at AS TIMESTAMPTZ) AS started_at, CAST(ended_at AS TIMESTAMPTZ) AS ended_at,
       coalesce(json_extract_string(manifest, '$.panel'),
                'input:' || left(json_extract_string(manifest, '$.input.sha256'), 12), 'unknown') AS panel
FROM _runs
WHERE kind IN (SELECT kind FROM _dataset_kinds);
