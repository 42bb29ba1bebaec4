-- The dashboard's four charts (SPEC §2.4) as views, one per chart, plus its KPI tiles; the same views
-- serve DataLens and Superset, so every consumer shares one definition. Grouped by key, not by name,
-- so that a renamed dish is one bar; rows with order_cnt = 0 never count (SPEC §2.3 keeps none).

-- 1. Pie: categories by the number of users who ordered them.
CREATE VIEW cdm.v_categories_by_users AS
SELECT category_id, max(category_name) AS category_name, count(DISTINCT user_id) AS users
FROM cdm.user_category_counters
WHERE order_cnt > 0
GROUP BY category_id;

-- 2. Pie: categories by the number of orders containing the category.
CREATE VIEW cdm.v_categories_by_orders AS
SELECT category_id, max(category_name) AS category_name, sum(order_cnt)::bigint AS orders
FROM cdm.user_category_counters
WHERE order_cnt > 0
GROUP BY category_id;

-- 3. Bar: dishes by the number of unique users.
CREATE VIEW cdm.v_dishes_by_users AS
SELECT product_id, max(product_name) AS product_name, count(DISTINCT user_id) AS users
FROM cdm.user_product_counters
WHERE order_cnt > 0
GROUP BY product_id;

-- 4. Bar: dishes by the number of orders containing the dish.
CREATE VIEW cdm.v_dishes_by_orders AS
SELECT product_id, max(product_name) AS product_name, sum(order_cnt)::bigint AS orders
FROM cdm.user_product_counters
WHERE order_cnt > 0
GROUP BY product_id;

-- KPI tiles: one row. `orders` are the distinct CLOSED orders in the counters; `newest_order_ts`
-- is the source time (update_ts) of the newest order version the marts have taken in.
CREATE VIEW cdm.v_dashboard_kpis AS
SELECT (SELECT count(*) FROM cdm.srv_order_contributions WHERE counted) AS orders,
       (SELECT count(DISTINCT user_id) FROM cdm.user_product_counters WHERE order_cnt > 0) AS users,
       (SELECT count(DISTINCT product_id) FROM cdm.user_product_counters WHERE order_cnt > 0) AS dishes,
       (SELECT count(DISTINCT category_id) FROM cdm.user_category_counters WHERE order_cnt > 0) AS categories,
       (SELECT max(version_ts) FROM cdm.srv_order_contributions) AS newest_order_ts;

COMMENT ON VIEW cdm.v_categories_by_users IS 'Популярность категорий блюд по доле пользователей';
COMMENT ON VIEW cdm.v_categories_by_orders IS 'Популярность категорий блюд по доле заказов';
COMMENT ON VIEW cdm.v_dishes_by_users IS 'Популярность блюд по количеству уникальных пользователей';
COMMENT ON VIEW cdm.v_dishes_by_orders IS 'Популярность блюд по количеству заказов';
COMMENT ON VIEW cdm.v_dashboard_kpis IS 'Dashboard KPI tiles: counted orders, users, dishes, categories, newest order time';

-- The read-only role of the dashboard and BI tools. Roles are cluster-wide: another database of the
-- cluster may have created it already, or be creating it right now. On managed clouds that forbid
-- CREATE ROLE, create it in the cloud console first; this block then only finds it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamvault_dashboard') THEN
        CREATE ROLE streamvault_dashboard NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA cdm TO streamvault_dashboard;
GRANT SELECT ON cdm.v_categories_by_users, cdm.v_categories_by_orders, cdm.v_dishes_by_users,
                cdm.v_dishes_by_orders, cdm.v_dashboard_kpis,
                cdm.user_product_counters, cdm.user_category_counters
    TO streamvault_dashboard;
