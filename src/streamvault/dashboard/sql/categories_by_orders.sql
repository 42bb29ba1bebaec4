-- Chart 2 (docs/spec.md §2.4): categories by the number of orders containing them; biggest first.
SELECT category_id::text AS id, category_name AS name, category_name AS label, orders AS value, count(*) OVER () AS total
FROM cdm.v_categories_by_orders
ORDER BY value DESC, name, id
LIMIT %(limit)s
