-- why a site could not be scanned: the raw site row's detail and fallback attempts
SELECT detail, attempts FROM raw_sites WHERE run_id = $run_id AND input_domain = $site_input
