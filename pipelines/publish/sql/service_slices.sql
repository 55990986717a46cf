-- one row per slice (rank bucket, ccTLD) of a service's share in the newest run
SELECT slice_kind, slice, sites, sites_total, share FROM service_slices WHERE service_id = $service_id
ORDER BY slice_kind DESC, slice
