-- zero rows: every detected service is embedded some known way, and loading without a gate needs direct or config
SELECT run_id, site_input, service_id FROM site_services_all
WHERE len(embeddings) = 0
   OR len(list_filter(embeddings, lambda e: e IS NULL OR e NOT IN ('direct', 'gated', 'encoded', 'config', 'hint'))) > 0
   OR (loads_without_gate AND NOT (list_contains(embeddings, 'direct') OR list_contains(embeddings, 'config')));
