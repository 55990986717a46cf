-- a service's share, server countries and DPF status compared with the previous run of the panel (one row)
SELECT prev_dpf_status, dpf_status, dpf_changed, prev_run_id, prev_sites, sites, prev_share, share, share_change,
       movement, new_server_countries
FROM service_trends WHERE service_id = $service_id
