-- grain: one row per run that has a previous run, and service seen in either run: share change, new server
-- countries and DPF status change of the recipient of the service's data (the effective status each run was
-- assessed with, _run_companies; the recipient rule: the contracting company's transfers_to, else itself)
CREATE OR REPLACE TABLE service_trends_all AS
SELECT
    t.*,
    coalesce(list_sort(list_filter(cur_c.countries, lambda x: NOT list_contains(coalesce(prev_c.countries, []), x))), [])
        AS new_server_countries,
    sv.company_id,
    prev_d.dpf_status AS prev_dpf_status,
    cur_d.dpf_status AS dpf_status,
    coalesce(prev_d.dpf_status IS DISTINCT FROM cur_d.dpf_status, false) AS dpf_changed
FROM service_trends_all t
LEFT JOIN _services sv USING (service_id)
LEFT JOIN (SELECT run_id, service_id, list_distinct(list(country)) AS countries FROM service_locations_all
           WHERE country <> 'unknown' GROUP BY ALL) cur_c
       ON cur_c.run_id = t.run_id AND cur_c.service_id = t.service_id
LEFT JOIN (SELECT run_id, service_id, list_distinct(list(country)) AS countries FROM service_locations_all
           WHERE country <> 'unknown' GROUP BY ALL) prev_c
       ON prev_c.run_id = t.prev_run_id AND prev_c.service_id = t.service_id
LEFT JOIN _run_companies cur_r ON cur_r.run_id = t.run_id AND cur_r.company_id = sv.company_id
LEFT JOIN _run_companies cur_d ON cur_d.run_id = t.run_id AND cur_d.company_id = cur_r.recipient_id
LEFT JOIN _run_companies prev_r ON prev_r.run_id = t.prev_run_id AND prev_r.company_id = sv.company_id
LEFT JOIN _run_companies prev_d ON prev_d.run_id = t.prev_run_id AND prev_d.company_id = prev_r.recipient_id
ORDER BY t.run_id, t.service_id;
CREATE OR REPLACE VIEW service_trends AS
SELECT * FROM service_trends_all WHERE run_id = (SELECT run_id FROM int_latest_run);
