-- grain: one row per run and third-party registrable domain that sites (outcome ok) embed but no catalog entry
-- claims, hosts of the site's own group left out: the long tail to curate next.
-- share = sites / sites_total with its Wilson 95% interval, as for services
CREATE OR REPLACE TABLE domains_all AS
WITH totals AS (
    SELECT run_id, count(*) AS sites_total FROM sites_all WHERE outcome = 'ok' GROUP BY run_id
), seen AS (
    SELECT u.run_id, u.registrable_domain, u.input_domain, u.host, u.embedding
    FROM stg_unclaimed u
    JOIN sites_all s ON s.run_id = u.run_id AND s.site_input = u.input_domain AND s.outcome = 'ok'
), counts AS (
    SELECT run_id, registrable_domain,
           count(DISTINCT input_domain) AS sites,
           count(DISTINCT input_domain) FILTER (WHERE embedding = 'direct') AS sites_direct,
           list_sort(list_distinct(list(host))) AS hosts,
           list_sort(list_distinct(list(embedding))) AS embeddings
    FROM seen
    GROUP BY ALL
), located AS (
    SELECT x.run_id, x.registrable_domain,
           list_sort(list_distinct(flatten(list(coalesce(h.countries, []))))) AS countries
    FROM (SELECT DISTINCT run_id, registrable_domain, host FROM seen) x
    LEFT JOIN stg_hosts h ON h.run_id = x.run_id AND h.host = x.host
    GROUP BY ALL
), owners AS (
    SELECT registrable_domain, any_value(owner) AS company_id
    FROM _host_domains WHERE owner IS NOT NULL GROUP BY ALL
)
SELECT
    c.run_id,
    c.registrable_domain,
    c.sites,
    t.sites_total,
    c.sites / t.sites_total AS share,
    wilson_low(c.sites, t.sites_total) AS share_ci_low,
    wilson_high(c.sites, t.sites_total) AS share_ci_high,
    c.sites_direct,
    c.hosts,
    c.embeddings,
    list_filter(coalesce(l.countries, []), lambda x: x IS NOT NULL AND x <> 'unknown') AS countries,
    o.company_id
FROM counts c
JOIN totals t USING (run_id)
LEFT JOIN located l USING (run_id, registrable_domain)
LEFT JOIN owners o USING (registrable_domain)
ORDER BY run_id, sites DESC, registrable_domain;
CREATE OR REPLACE VIEW domains AS
SELECT * FROM domains_all WHERE run_id = (SELECT run_id FROM int_latest_run);
