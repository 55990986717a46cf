-- zero rows: every detected service exists in the catalog loaded for this build
SELECT DISTINCT service_id FROM site_services_all WHERE service_id NOT IN (SELECT service_id FROM _services);
