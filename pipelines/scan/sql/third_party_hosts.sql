-- third-party hosts the site's pages reference that no catalog service claims
SELECT sh.host, sh.registrable_domain, sh."references", sh.elements, h.countries, h.location_confidence
FROM site_hosts_all sh
LEFT JOIN hosts_all h ON h.run_id = sh.run_id AND h.host = sh.host
WHERE sh.run_id = $run_id AND sh.site_input = $site_input AND sh.party = 'third'
  AND NOT EXISTS (SELECT 1 FROM stg_detections d WHERE d.run_id = sh.run_id AND d.input_domain = sh.site_input
                  AND d.host = sh.host)
ORDER BY sh."references" DESC, sh.host
