-- grain: one row per dataset run: its panel and the previous run of the same panel (NULL for a panel's first
-- run). Every "since the previous run" figure (service_trends, service_policy) compares these pairs only.
CREATE OR REPLACE VIEW int_run_pairs AS
SELECT run_id, panel, lag(run_id) OVER (PARTITION BY panel ORDER BY run_id) AS prev_run_id FROM stg_runs;
