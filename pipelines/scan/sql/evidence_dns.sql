-- evidence pack: the DNS answer of each host (CNAME chain, addresses with their located country and network)
SELECT h.host, h.dns_outcome, h.dns_detail, h.cname_chain, h.canonical_name, h.resolver, h.resolved_at,
       h.location_confidence, h.location_note,
       list({'ip': a.ip, 'family': a.family, 'ttl': a.ttl, 'owner': a.owner, 'country': a.country, 'asn': a.asn,
             'as_org': a.as_org} ORDER BY a.family, a.ip) FILTER (WHERE a.ip IS NOT NULL) AS addresses
FROM stg_hosts h
LEFT JOIN enr_host_addresses a ON a.run_id = h.run_id AND a.host = h.host
WHERE h.run_id = $run_id AND list_contains($hosts, h.host)
GROUP BY ALL
ORDER BY h.host
