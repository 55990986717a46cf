-- grain: one row per cookie observation (Set-Cookie header or browser cookie jar)
CREATE OR REPLACE VIEW stg_cookies AS
SELECT run_id, input_domain, page_url, name, domain, host_only, path, expires, max_age, session, secure,
       http_only, same_site, set_by_host, method, consent_state
FROM raw_cookies;
