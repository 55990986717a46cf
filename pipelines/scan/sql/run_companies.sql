-- one row per catalog company as the scan run's assessment saw it (seat, city, effective DPF status)
SELECT company_id, name, country, city, dpf_status, dpf_checked_on FROM _run_companies WHERE run_id = $run_id
