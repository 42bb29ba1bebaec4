-- Chart 1 (docs/spec.md §2.4): categories by the number of users who ordered them; biggest first.
SELECT category_id::text AS id, category_name AS name, category_name AS label, users AS value, count(*) OVER () AS total
FROM cdm.v_categories_by_users
ORDER BY value DESC, name, id
LIMIT %(limit)s
