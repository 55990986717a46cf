-- one row per service of the newest run with its share and DPF movement since the previous run of the panel
SELECT service_id, prev_share, share, movement, new_server_countries, prev_dpf_status, dpf_status, dpf_changed
FROM service_trends ORDER BY service_id
