-- grain: one row per run, site and referenced host (loaded references only: CSP-declared excluded)
CREATE OR REPLACE TABLE int_site_hosts AS
SELECT
    r.run_id,
    r.input_domain,
    s.site,
    r.host,
    hd.registrable_domain,
    CASE WHEN hd.registrable_domain = sd.registrable_domain THEN 'first' ELSE 'third' END AS party,
    count(*) AS refs,
    count(DISTINCT r.page_url) AS pages,
    bool_and(r.gated) AS only_gated,
    list_sort(list_distinct(list(r.element))) AS elements
FROM stg_resources r
JOIN stg_sites s USING (run_id, input_domain)
JOIN _host_domains hd ON hd.host = r.host
LEFT JOIN _host_domains sd ON sd.host = coalesce(s.site, s.input_domain)
WHERE NOT r.declared
GROUP BY ALL;
