-- grain: one row per piece of evidence that a page embeds a service (stg_detections), with whether it shows
-- the service loading without a consent gate: a direct reference, or a script that runs on page load naming
-- the vendor's loadable URL (config evidence other than a signature); gated, encoded and hint evidence and
-- bare account ids in inline code do not
CREATE OR REPLACE VIEW int_detections AS
SELECT *,
       embedding = 'direct' OR (embedding = 'config' AND evidence_kind NOT IN ('signature', 'cookie'))
           AS loads_without_gate
FROM stg_detections;
