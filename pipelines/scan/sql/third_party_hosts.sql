-- third-party hosts the site's pages embed that no catalog service claims (the rule of the domains mart:
-- stg_unclaimed; hosts of the site's own group left out)
SELECT sh.host, sh.registrable_domain, sh."references", sh.elements, h.countries, h.location_confidence
FROM site_hosts_all sh
LEFT JOIN hosts_all h ON h.run_id = sh.run_id AND h.host = sh.host
WHERE sh.run_id = $run_id AND sh.site_input = $site_input AND sh.party = 'third'
  AND EXISTS (SELECT 1 FROM stg_unclaimed u WHERE u.run_id = sh.run_id AND u.input_domain = sh.site_input
              AND u.host = sh.host)
ORDER BY sh."references" DESC, sh.host
