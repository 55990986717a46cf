-- the most widespread third-party registrable domains of the newest run that no catalog entry claims
-- (at most $limit rows)
SELECT registrable_domain, sites, sites_total, share, share_ci_low, share_ci_high, hosts, countries, company_id
FROM domains
ORDER BY sites DESC, registrable_domain
LIMIT $limit
