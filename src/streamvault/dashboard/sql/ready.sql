-- Readiness: the role may read the marts' views (privileges are checked although no row is read).
SELECT 1 FROM cdm.v_dashboard_kpis LIMIT 0
