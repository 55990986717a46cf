-- zero rows: outcomes are from the documented set (crawler.outcomes.OUTCOMES, listed in _outcomes by the build)
SELECT run_id, site_input, outcome FROM sites_all
WHERE outcome NOT IN (SELECT outcome FROM _outcomes);
