-- Chart 4 (SPEC §2.4): dishes by the number of orders containing them; biggest first.
SELECT product_id::text AS id, product_name AS name, orders AS value, count(*) OVER () AS total
FROM cdm.v_dishes_by_orders
ORDER BY value DESC, name, id
LIMIT %(limit)s
