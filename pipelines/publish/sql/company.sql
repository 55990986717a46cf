-- a company of the newest run as the companies mart shows it (one row)
SELECT * FROM companies WHERE company_id = $company_id
