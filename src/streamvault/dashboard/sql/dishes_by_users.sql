-- Chart 3 (docs/spec.md §2.4): dishes by the number of unique users,
-- one bar per dish (product id) under a label that tells same-name dishes apart (0015 migration); biggest first.
SELECT product_id::text AS id, product_name AS name, dish_label AS label, users AS value, count(*) OVER () AS total
FROM cdm.v_dishes_by_users
ORDER BY value DESC, label, id
LIMIT %(limit)s
