-- grain: one row per cookie observation (Set-Cookie header or browser cookie jar)
CREATE OR REPLACE VIEW stg_cookies AS
SELECT run_id, input_domain, page_url, name, domain, host_only, path, expires, max_age, session, secure,
       http_only, same_site, set_by_host, coalesce(method, 'static') AS method,
       coalesce(consent_state, 'none') AS consent_state, coalesce(signal, 'none') AS signal, third_party
FROM raw_cookies;
