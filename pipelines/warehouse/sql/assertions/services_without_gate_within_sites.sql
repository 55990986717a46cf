-- zero rows: the sites loading a service without a gate are some of the sites embedding it, inside its interval
SELECT run_id, service_id FROM services_all
WHERE NOT (sites_without_gate <= sites AND share_without_gate <= share + 1e-12
           AND share_without_gate_ci_low <= share_without_gate + 1e-12
           AND share_without_gate <= share_without_gate_ci_high + 1e-12);
