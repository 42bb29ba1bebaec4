-- The batch into its temp tables (temp_tables.sql), one array parameter per column (streamvault.db.arrays);
-- each order's dish and category keys come as uuid[] literals. streamvault.cdm.service composes in the arrays.
INSERT INTO tmp_cdm_product_names (product_id, name, effective_dt)
SELECT * FROM {product_names};

INSERT INTO tmp_cdm_category_names (category_id, name, effective_dt)
SELECT * FROM {category_names};

INSERT INTO tmp_cdm_orders (order_id, user_id, version_ts, version_sent, counted, product_ids, category_ids)
SELECT order_id, user_id, version_ts, version_sent, counted, product_ids::uuid[], category_ids::uuid[]
FROM {orders} AS o (order_id, user_id, version_ts, version_sent, counted, product_ids, category_ids);
