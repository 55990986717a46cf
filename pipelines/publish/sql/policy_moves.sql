-- one row per service whose share of privacy policies naming it moved beyond its interval since the previous run
SELECT service_id, prev_share_named, share_named, named_movement FROM service_policy
WHERE named_movement IN ('up', 'down') ORDER BY service_id
