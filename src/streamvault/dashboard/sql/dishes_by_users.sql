-- Chart 3 (SPEC §2.4): dishes by the number of unique users; biggest first.
SELECT product_id::text AS id, product_name AS name, users AS value, count(*) OVER () AS total
FROM cdm.v_dishes_by_users
ORDER BY value DESC, name, id
LIMIT %(limit)s
