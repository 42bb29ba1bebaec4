-- The KPI tiles and the marts' "data as of" (the newest source publish time they include): one row.
SELECT k.orders, k.users, k.dishes, k.categories, k.newest_order_ts, a.source_published_at AS data_as_of
FROM cdm.v_dashboard_kpis AS k CROSS JOIN cdm.v_data_as_of AS a
