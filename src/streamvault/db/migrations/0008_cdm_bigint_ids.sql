-- The marts' surrogate ids become 64-bit: 32 bits ran out after ~10^9 counted orders (issue 16).
-- Changing the column's type also rewrites the table; the identity sequence follows it explicitly
-- (its maximum moves from the int to the bigint maximum, as both were the type's defaults).
ALTER TABLE cdm.user_product_counters ALTER COLUMN id SET DATA TYPE bigint;
ALTER SEQUENCE cdm.user_product_counters_id_seq AS bigint;

ALTER TABLE cdm.user_category_counters ALTER COLUMN id SET DATA TYPE bigint;
ALTER SEQUENCE cdm.user_category_counters_id_seq AS bigint;
