-- Lifetime in seconds of each cookie a run saw, per site and name (NULL = session cookie), counted from the
-- time the page that set it was fetched (the run's start when that page is unknown), never from the build's
-- clock, so rebuilding later does not shorten a stored run's cookies.
SELECT c.run_id, c.input_domain, c.name,
       max(CASE WHEN c.session THEN NULL
                ELSE coalesce(c.max_age, epoch(c.expires) - epoch(coalesce(p.fetched_at, r.started_at::TIMESTAMPTZ)))
           END)::BIGINT AS lifetime_seconds
FROM raw_cookies c
JOIN _runs r ON r.run_id = c.run_id
LEFT JOIN (SELECT run_id, input_domain, url, min(fetched_at) AS fetched_at FROM raw_pages GROUP BY ALL) p
       ON p.run_id = c.run_id AND p.input_domain = c.input_domain AND p.url = c.page_url
WHERE c.run_id = ?
GROUP BY ALL
