-- how often the privacy policies of the sites embedding a service name it, in one run (one row)
SELECT self_hosted_service, sites, sites_with_policy, sites_named, sites_company_only, sites_not_mentioned,
       sites_self_hosted, share_named, share_named_ci_low, share_named_ci_high, share_recipient_named,
       prev_share_named, named_movement
FROM service_policy_all WHERE run_id = $run_id AND service_id = $service_id
