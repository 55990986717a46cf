-- one row per company of the newest run (the company pages to build)
SELECT company_id FROM companies ORDER BY company_id
