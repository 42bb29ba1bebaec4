-- What the marts and their bookkeeping must hold according to the Data Vault alone (docs/spec.md §2.3), as temp tables.
-- An order counts with its current dds version; the CDM service then skips versions up to it and applies
-- newer ones as usual. Category display names are kept (the vault's hub key ignores case; a new one starts
-- from the hub's name).
DROP TABLE IF EXISTS rebuild_contributions, rebuild_product_names, rebuild_category_names,
                     rebuild_product_counters, rebuild_category_counters;

CREATE TEMP TABLE rebuild_contributions AS
SELECT order_id, user_id, version_ts, version_sent, counted, product_ids, category_ids
FROM cdm.v_dds_order_contributions
WHERE version_ts IS NOT NULL AND user_id IS NOT NULL;
ALTER TABLE rebuild_contributions ADD PRIMARY KEY (order_id);

CREATE TEMP TABLE rebuild_product_names AS
SELECT product_id, name, effective_dt FROM cdm.v_dds_product_names;
ALTER TABLE rebuild_product_names ADD PRIMARY KEY (product_id);

CREATE TEMP TABLE rebuild_category_names AS
SELECT category_id, name, effective_dt FROM cdm.srv_category_names
UNION ALL
SELECT h_category_pk, category_name, '0001-01-01' FROM dds.h_category AS h
WHERE NOT EXISTS (SELECT FROM cdm.srv_category_names AS n WHERE n.category_id = h.h_category_pk);
ALTER TABLE rebuild_category_names ADD PRIMARY KEY (category_id);

CREATE TEMP TABLE rebuild_product_counters AS
SELECT c.user_id, p.product_id, n.name AS product_name, count(*)::integer AS order_cnt
FROM rebuild_contributions AS c, unnest(c.product_ids) AS p (product_id)
LEFT JOIN rebuild_product_names AS n USING (product_id)
WHERE c.counted
GROUP BY c.user_id, p.product_id, n.name;

CREATE TEMP TABLE rebuild_category_counters AS
SELECT c.user_id, k.category_id, n.name AS category_name, count(*)::integer AS order_cnt
FROM rebuild_contributions AS c, unnest(c.category_ids) AS k (category_id)
LEFT JOIN rebuild_category_names AS n USING (category_id)
WHERE c.counted
GROUP BY c.user_id, k.category_id, n.name;

-- Temp tables are never analysed automatically: the comparisons and writes that follow join them.
ANALYZE rebuild_contributions, rebuild_product_names, rebuild_category_names, rebuild_product_counters,
        rebuild_category_counters;
