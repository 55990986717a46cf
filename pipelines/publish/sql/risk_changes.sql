-- one row per run and service whose verdict, band or score moved when the catalog moved to $catalog_version
SELECT * FROM risk_changes_all WHERE catalog_version = $catalog_version ORDER BY run_id DESC, service_id
