-- zero rows: a long-tail domain's share lies in its interval and its sites among the run's sites
SELECT run_id, registrable_domain FROM domains_all
WHERE NOT (share_ci_low <= share + 1e-12 AND share <= share_ci_high + 1e-12 AND sites <= sites_total
           AND sites_direct <= sites);
