-- grain: one row per run, service, server country and location confidence: the service's hosts seen on
-- the run's sites where the service was detected (hosts named by its detections, plus the site's other hosts
-- that the build's one attribution, _host_services, gives to the service) with their GeoIP countries;
-- 'unknown' when not located
CREATE OR REPLACE TABLE service_locations_all AS
WITH service_hosts AS (
    SELECT DISTINCT d.run_id, d.service_id, d.host, d.input_domain
    FROM stg_detections d
    WHERE d.host IS NOT NULL
    UNION
    SELECT DISTINCT ss.run_id, ss.service_id, sh.host, ss.site_input AS input_domain
    FROM site_services_all ss
    JOIN int_site_hosts sh ON sh.run_id = ss.run_id AND sh.input_domain = ss.site_input
    JOIN _host_services hs ON hs.run_id = sh.run_id AND hs.host = sh.host AND hs.service_id = ss.service_id
), located AS (
    SELECT sh.run_id, sh.service_id, sh.host, sh.input_domain,
           coalesce(h.location_confidence, 'unknown') AS confidence,
           CASE WHEN h.countries IS NULL OR len(h.countries) = 0 THEN ['unknown'] ELSE h.countries END AS countries
    FROM service_hosts sh
    LEFT JOIN stg_hosts h ON h.run_id = sh.run_id AND h.host = sh.host
)
SELECT run_id, service_id, unnest(countries) AS country, confidence,
       count(DISTINCT host) AS hosts, count(DISTINCT input_domain) AS sites
FROM located
GROUP BY run_id, service_id, country, confidence
ORDER BY run_id, service_id, sites DESC, country, confidence;
CREATE OR REPLACE VIEW service_locations AS
SELECT * FROM service_locations_all WHERE run_id = (SELECT run_id FROM int_latest_run);
