-- zero rows: outcomes are from the documented set
SELECT run_id, site_input, outcome FROM sites_all
WHERE outcome NOT IN ('ok', 'dns_error', 'connect_error', 'timeout', 'http_error', 'tls_error', 'redirect_loop',
                      'robots_denied', 'too_large', 'not_html', 'refused_private', 'browser_error',
                      'page_budget_exceeded');
