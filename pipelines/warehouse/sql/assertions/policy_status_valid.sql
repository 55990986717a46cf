-- zero rows: privacy-policy statuses are the five pipelines/catalog/coverage.py knows, and a named or
-- company-only status quotes the policy it was found in
SELECT run_id, site_input, service_id, status FROM site_service_policy_all
WHERE status NOT IN ('named', 'company_only', 'not_mentioned', 'self_hosted', 'no_policy')
   OR (status IN ('named', 'company_only') AND (term IS NULL OR policy_url IS NULL OR excerpt IS NULL));
