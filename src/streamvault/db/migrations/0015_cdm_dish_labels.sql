-- A dish is a restaurant's menu item: different dishes often share a name (70 of 79 names in the demo
-- data), so a chart that groups by name merges them. `cdm.v_dishes` gives each dish (product_id) its two
-- measures and a label that tells it apart: "name (restaurant)", the restaurant's newest known name
-- (dds.s_restaurant_names, docs/spec.md §2.3), plus the key's first 8 characters when even that is shared.
-- The two dish charts' views keep their columns and gain `restaurant_name` and `dish_label`, so that
-- every consumer (the built-in page, Superset, DataLens) groups by a column that is unique per dish.
CREATE VIEW cdm.v_dishes AS
WITH dishes AS (
    SELECT product_id, max(product_name) AS product_name, count(DISTINCT user_id) AS users,
           sum(order_cnt)::bigint AS orders
    FROM cdm.user_product_counters
    WHERE order_cnt > 0
    GROUP BY product_id
), restaurants AS (
    SELECT link.h_product_pk AS product_id, string_agg(DISTINCT newest.name, ', ' ORDER BY newest.name) AS name
    FROM dds.l_product_restaurant AS link
    CROSS JOIN LATERAL (
        SELECT name FROM dds.s_restaurant_names AS sat
        WHERE sat.h_restaurant_pk = link.h_restaurant_pk
        ORDER BY effective_dt DESC
        LIMIT 1
    ) AS newest
    WHERE link.h_product_pk IN (SELECT product_id FROM dishes)
    GROUP BY link.h_product_pk
)
SELECT d.product_id, d.product_name, r.name AS restaurant_name,
       d.product_name || coalesce(' (' || r.name || ')', '')
           || CASE WHEN count(*) OVER (PARTITION BY d.product_name, r.name) > 1
                   THEN ' #' || left(d.product_id::text, 8) ELSE '' END AS dish_label,
       d.users, d.orders
FROM dishes AS d
LEFT JOIN restaurants AS r USING (product_id);

CREATE OR REPLACE VIEW cdm.v_dishes_by_users AS
SELECT product_id, product_name, users, restaurant_name, dish_label
FROM cdm.v_dishes;

CREATE OR REPLACE VIEW cdm.v_dishes_by_orders AS
SELECT product_id, product_name, orders, restaurant_name, dish_label
FROM cdm.v_dishes;

COMMENT ON VIEW cdm.v_dishes IS 'One row per dish (product_id): a label unique per dish, users and orders';
GRANT SELECT ON cdm.v_dishes TO streamvault_dashboard;
