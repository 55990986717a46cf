-- grain: one row: the newest dataset run (run ids sort by start time)
CREATE OR REPLACE VIEW int_latest_run AS
SELECT max(run_id) AS run_id FROM stg_runs;
