-- the newest run (one row): its start, its panel and the run of the same panel before it
SELECT p.run_id, CAST(r.started_at AS VARCHAR) AS started_at, p.panel, p.prev_run_id
FROM int_run_pairs p JOIN stg_runs r USING (run_id)
WHERE p.run_id = (SELECT run_id FROM int_latest_run)
