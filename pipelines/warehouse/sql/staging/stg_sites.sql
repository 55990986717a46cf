-- grain: one row per input domain per run
CREATE OR REPLACE VIEW stg_sites AS
SELECT
    run_id,
    input_domain,
    CAST(rank AS BIGINT) AS rank,
    line_no,
    site,
    final_host,
    final_url,
    outcome,
    error_class,
    detail,
    cross_site_redirect,
    pages_ok,
    pages_failed,
    method,
    regexp_extract(input_domain, '\.([a-z0-9-]+)$', 1) AS cctld,
    CASE
        WHEN rank IS NULL THEN 'unranked'
        WHEN rank <= 1000 THEN 'top1k'
        WHEN rank <= 10000 THEN 'top10k'
        WHEN rank <= 100000 THEN 'top100k'
        ELSE 'rest'
    END AS rank_bucket
FROM raw_sites;
