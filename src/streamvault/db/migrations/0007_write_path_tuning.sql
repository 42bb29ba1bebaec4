-- Write-path tuning, measured with benchmarks/pipeline_throughput.py (see docs/data-vault.md).

-- A link's key is the hash of its hubs' keys, so the pair is unique by construction: the second
-- unique index on every link only cost an index insertion per row. Joins by hub key use hash joins.
ALTER TABLE dds.l_order_product      DROP CONSTRAINT l_order_product_h_order_pk_h_product_pk_key;
ALTER TABLE dds.l_product_restaurant DROP CONSTRAINT l_product_restaurant_h_product_pk_h_restaurant_pk_key;
ALTER TABLE dds.l_product_category   DROP CONSTRAINT l_product_category_h_product_pk_h_category_pk_key;
ALTER TABLE dds.l_order_user         DROP CONSTRAINT l_order_user_h_order_pk_h_user_pk_key;

-- Rows updated in place by every batch get room on their page, so the update stays on that page and
-- touches no index (a heap-only tuple).
ALTER TABLE cdm.user_product_counters   SET (fillfactor = 70);
ALTER TABLE cdm.user_category_counters  SET (fillfactor = 70);
ALTER TABLE cdm.srv_order_contributions SET (fillfactor = 80);
ALTER TABLE cdm.srv_product_names       SET (fillfactor = 70);
ALTER TABLE dds.srv_sat_watermarks      SET (fillfactor = 70);
