-- how the scan's DNS lookups ended: one row per DNS outcome class of the enriched hosts (ok, nxdomain, timeout …)
SELECT dns_outcome, count(*) AS hosts FROM enr_hosts WHERE run_id = $run_id GROUP BY dns_outcome ORDER BY dns_outcome
