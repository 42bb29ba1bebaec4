-- Newest known dish names (by the source time of the order version that carried them); the batch has
-- one row per dish. New dishes get their first name.
INSERT INTO cdm.srv_product_names (product_id, name, effective_dt)
SELECT product_id, name, effective_dt
FROM tmp_cdm_product_names
ORDER BY product_id
ON CONFLICT DO NOTHING;

-- Known dishes: lock their rows (in key order: replicas never deadlock), then note the real renames,
-- so that counter rows are touched only for those: a dish's counter rows are one per user who ever
-- ordered it, and visiting them for every dish of every batch would cost more as history grows.
INSERT INTO tmp_cdm_renamed
SELECT t.product_id, t.name
FROM tmp_cdm_product_names AS t
JOIN (SELECT product_id, name, effective_dt FROM cdm.srv_product_names
      WHERE product_id IN (SELECT product_id FROM tmp_cdm_product_names)
      ORDER BY product_id
      FOR UPDATE) AS n USING (product_id)
WHERE (t.effective_dt, t.name) > (n.effective_dt, n.name) AND t.name <> n.name;

UPDATE cdm.srv_product_names AS n
SET name = t.name, effective_dt = t.effective_dt
FROM tmp_cdm_product_names AS t
WHERE n.product_id = t.product_id AND (t.effective_dt, t.name) > (n.effective_dt, n.name);

UPDATE cdm.user_product_counters AS c
SET product_name = r.name
FROM tmp_cdm_renamed AS r
WHERE c.product_id = r.product_id AND c.product_name <> r.name;
