-- zero rows: every detection belongs to a site row of the same run
SELECT ss.run_id, ss.site_input FROM site_services_all ss
LEFT JOIN sites_all s ON s.run_id = ss.run_id AND s.site_input = ss.site_input
WHERE s.site_input IS NULL;
