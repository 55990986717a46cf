-- grain: one row per page visit (static fetch, or browser load in one consent state / signal)
CREATE OR REPLACE VIEW stg_pages AS
SELECT run_id, input_domain, page_kind, url, final_url, status, error_class,
       coalesce(method, 'static') AS method, coalesce(consent_state, 'none') AS consent_state,
       coalesce(signal, 'none') AS signal, cmp, consent_result, load_state, popups, fetched_at
FROM raw_pages;
