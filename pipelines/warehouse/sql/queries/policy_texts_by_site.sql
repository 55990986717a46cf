-- one run's privacy and cookie policy texts, site by site (privacy pages first: their hit is quoted first)
SELECT input_domain, page_url, text
FROM raw_policy_texts
WHERE run_id = ?
ORDER BY input_domain, CASE page_kind WHEN 'privacy' THEN 0 ELSE 1 END, page_url, coalesce(method, 'static')
