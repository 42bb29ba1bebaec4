-- The KPI tiles: one row.
SELECT orders, users, dishes, categories, newest_order_ts
FROM cdm.v_dashboard_kpis
