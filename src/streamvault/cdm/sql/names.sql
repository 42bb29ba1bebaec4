-- Newest known dish names (by the source time of the order version that carried them).
INSERT INTO cdm.srv_product_names AS n (product_id, name, effective_dt)
SELECT DISTINCT ON (product_id) product_id, name, effective_dt
FROM tmp_cdm_product_names
ORDER BY product_id, effective_dt DESC, name DESC
ON CONFLICT (product_id) DO UPDATE
SET name = excluded.name, effective_dt = excluded.effective_dt
WHERE (excluded.effective_dt, excluded.name) > (n.effective_dt, n.name);

-- Counter rows carry the newest name too.
UPDATE cdm.user_product_counters AS c
SET product_name = n.name
FROM cdm.srv_product_names AS n
WHERE n.product_id IN (SELECT product_id FROM tmp_cdm_product_names)
  AND c.product_id = n.product_id
  AND c.product_name <> n.name;
