-- grain: one row per page and third-party host it embeds that no catalog entry claims (and the site's own
-- group does not run), with how the page embeds it
CREATE OR REPLACE VIEW stg_unclaimed AS
SELECT run_id, input_domain, site, page_url, host, registrable_domain, embedding,
       coalesce(method, 'static') AS method, coalesce(consent_state, 'none') AS consent_state,
       coalesce(signal, 'none') AS signal
FROM unclaimed;
