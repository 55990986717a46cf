-- the privacy / cookie policy pages fetched for the site (their text stays in the warehouse)
SELECT page_url, page_kind, lang, chars, truncated
FROM raw_policy_texts
WHERE run_id = $run_id AND input_domain = $site_input
ORDER BY CASE page_kind WHEN 'privacy' THEN 0 ELSE 1 END, page_url
