-- zero rows: 0 <= ci_low <= share <= ci_high <= 1 and sites <= sites_total
SELECT run_id, service_id FROM services_all
WHERE NOT (share_ci_low >= 0 AND share_ci_low <= share + 1e-12 AND share <= share_ci_high + 1e-12
           AND share_ci_high <= 1 AND sites <= sites_total);
