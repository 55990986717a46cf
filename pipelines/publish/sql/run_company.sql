-- a company as the newest run's assessment saw it (one row; also recipients no site row names)
SELECT * FROM _run_companies WHERE company_id = $company_id AND run_id = (SELECT run_id FROM int_latest_run)
