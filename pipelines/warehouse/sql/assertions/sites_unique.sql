-- zero rows: every input domain appears once per run
SELECT run_id, site_input, count(*) FROM sites_all GROUP BY ALL HAVING count(*) > 1;
