-- one row per service of the newest run with its consent verdict, score and recipient (the demo's console table)
SELECT * FROM service_risk
