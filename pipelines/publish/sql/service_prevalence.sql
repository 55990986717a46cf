-- a service's share of the newest run's sites, overall and loading without a consent gate (one row)
SELECT sites, sites_total, share, share_ci_low, share_ci_high,
       sites_without_gate, share_without_gate, share_without_gate_ci_low, share_without_gate_ci_high
FROM services WHERE service_id = $service_id
