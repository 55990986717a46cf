-- evidence pack: every piece of evidence that the site embeds a service, per page and browser pass
SELECT service_id, evidence_kind, evidence, seen_in, host, page_url, method, consent_state, signal
FROM stg_detections
WHERE run_id = $run_id AND input_domain = $site_input
ORDER BY service_id, method, consent_state, signal, page_url, evidence_kind, evidence
