-- zero rows: bands follow the rubric's thresholds (0–19 low, 20–39 medium, 40–59 high, 60+ very_high)
SELECT run_id, service_id, risk_score, band FROM service_risk_all
WHERE band <> CASE WHEN risk_score < 20 THEN 'low' WHEN risk_score < 40 THEN 'medium'
                   WHEN risk_score < 60 THEN 'high' ELSE 'very_high' END
   OR consent_required NOT IN ('yes', 'no', 'likely') OR risk_score NOT BETWEEN 0 AND 100
UNION ALL
SELECT run_id, service_id, risk_score, band FROM site_service_risk_all
WHERE band <> CASE WHEN risk_score < 20 THEN 'low' WHEN risk_score < 40 THEN 'medium'
                   WHEN risk_score < 60 THEN 'high' ELSE 'very_high' END
   OR consent_required NOT IN ('yes', 'no', 'likely') OR risk_score NOT BETWEEN 0 AND 100;
