-- zero rows: every detected service of every site has exactly one privacy-policy status
SELECT ss.run_id, ss.site_input, ss.service_id, count(p.status) AS statuses
FROM site_services_all ss
LEFT JOIN site_service_policy_all p USING (run_id, site_input, service_id)
GROUP BY ss.run_id, ss.site_input, ss.service_id
HAVING count(p.status) <> 1;
