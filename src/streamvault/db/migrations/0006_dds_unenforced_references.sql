-- Data Vault 2.0 loads hubs, links and satellites in parallel and trusts the loader's order instead of
-- enforced references: streamvault writes every hub before the links and satellites that point at it,
-- in the same transaction, and never deletes. Per-row foreign-key checks were the largest share of
-- PostgreSQL's CPU per order (see the benchmark note); the references stay documented here.
ALTER TABLE dds.l_order_product      DROP CONSTRAINT l_order_product_h_order_pk_fkey,
                                     DROP CONSTRAINT l_order_product_h_product_pk_fkey;
ALTER TABLE dds.l_product_restaurant DROP CONSTRAINT l_product_restaurant_h_product_pk_fkey,
                                     DROP CONSTRAINT l_product_restaurant_h_restaurant_pk_fkey;
ALTER TABLE dds.l_product_category   DROP CONSTRAINT l_product_category_h_product_pk_fkey,
                                     DROP CONSTRAINT l_product_category_h_category_pk_fkey;
ALTER TABLE dds.l_order_user         DROP CONSTRAINT l_order_user_h_order_pk_fkey,
                                     DROP CONSTRAINT l_order_user_h_user_pk_fkey;
ALTER TABLE dds.s_user_names         DROP CONSTRAINT s_user_names_h_user_pk_fkey;
ALTER TABLE dds.s_product_names      DROP CONSTRAINT s_product_names_h_product_pk_fkey;
ALTER TABLE dds.s_restaurant_names   DROP CONSTRAINT s_restaurant_names_h_restaurant_pk_fkey;
ALTER TABLE dds.s_order_cost         DROP CONSTRAINT s_order_cost_h_order_pk_fkey;
ALTER TABLE dds.s_order_status       DROP CONSTRAINT s_order_status_h_order_pk_fkey;
