-- grain: one row per localStorage/sessionStorage key per frame origin per browser page visit
CREATE OR REPLACE VIEW stg_storage AS
SELECT run_id, input_domain, page_url, origin, kind, key, value_length, third_party,
       coalesce(consent_state, 'none') AS consent_state, coalesce(signal, 'none') AS signal
FROM raw_storage;
