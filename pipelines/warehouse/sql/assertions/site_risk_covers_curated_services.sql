-- zero rows: every detected curated service on a site has exactly one site_service_risk row
SELECT ss.run_id, ss.site_input, ss.service_id, count(r.service_id) AS risk_rows
FROM site_services_all ss
JOIN _services sv ON sv.service_id = ss.service_id AND sv.curated
LEFT JOIN site_service_risk_all r
       ON r.run_id = ss.run_id AND r.site_input = ss.site_input AND r.service_id = ss.service_id
GROUP BY ss.run_id, ss.site_input, ss.service_id
HAVING count(r.service_id) <> 1;
