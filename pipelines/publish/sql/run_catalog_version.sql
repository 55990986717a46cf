-- the catalog version one run was assessed with (one row)
SELECT catalog_version FROM _risk_runs WHERE run_id = $run_id
