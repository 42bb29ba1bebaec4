-- Chart 4 (docs/spec.md §2.4): dishes by the number of orders containing them,
-- one bar per dish (product id) under a label that tells same-name dishes apart (0015 migration); biggest first.
SELECT product_id::text AS id, product_name AS name, dish_label AS label, orders AS value, count(*) OVER () AS total
FROM cdm.v_dishes_by_orders
ORDER BY value DESC, label, id
LIMIT %(limit)s
