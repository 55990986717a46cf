-- grain: one row per run, service and slice (rank bucket or ccTLD) with the service's prevalence in it
CREATE OR REPLACE TABLE service_slices_all AS
WITH ok AS (
    SELECT run_id, site_input, rank_bucket, cctld FROM sites_all WHERE outcome = 'ok'
), sliced AS (
    SELECT run_id, site_input, 'rank_bucket' AS slice_kind, rank_bucket AS slice FROM ok
    UNION ALL
    SELECT run_id, site_input, 'cctld', cctld FROM ok
), totals AS (
    SELECT run_id, slice_kind, slice, count(*) AS sites_total FROM sliced GROUP BY ALL
), counts AS (
    SELECT x.run_id, ss.service_id, x.slice_kind, x.slice, count(DISTINCT x.site_input) AS sites
    FROM sliced x JOIN site_services_all ss ON ss.run_id = x.run_id AND ss.site_input = x.site_input
    GROUP BY ALL
)
SELECT c.run_id, c.service_id, c.slice_kind, c.slice, c.sites, t.sites_total, c.sites / t.sites_total AS share
FROM counts c JOIN totals t USING (run_id, slice_kind, slice)
ORDER BY run_id, service_id, slice_kind, slice;
CREATE OR REPLACE VIEW service_slices AS
SELECT * FROM service_slices_all WHERE run_id = (SELECT run_id FROM int_latest_run);
