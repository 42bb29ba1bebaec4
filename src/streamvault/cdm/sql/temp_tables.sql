CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_orders (
    order_id     uuid,
    user_id      uuid,
    version_ts   timestamp,
    version_sent timestamp,
    counted      boolean,
    product_ids  uuid[],
    category_ids uuid[]
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_product_names (
    product_id   uuid,
    name         varchar(256),
    effective_dt timestamp
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_product_renamed (
    product_id uuid,
    name       varchar(256)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_category_names (
    category_id  uuid,
    name         varchar(256),
    effective_dt timestamp
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_category_renamed (
    category_id uuid,
    name        varchar(256)
) ON COMMIT DELETE ROWS;
-- An incoming version next to what its order contributed so far.
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_changed ON COMMIT DELETE ROWS AS
SELECT o.*, NULL::uuid AS old_user_id, NULL::boolean AS old_counted,
       NULL::uuid[] AS old_product_ids, NULL::uuid[] AS old_category_ids, NULL::boolean AS first_seen
FROM tmp_cdm_orders AS o
WITH NO DATA;
-- Empty at the start of each use: a batch bisected to find a bad message loads its halves in one
-- transaction. DELETE, not TRUNCATE: on a temp table of a few hundred rows TRUNCATE costs milliseconds
-- (new files for the table and its TOAST, catalog rows); ON COMMIT DELETE ROWS empties them at commit.
DELETE FROM tmp_cdm_orders;
DELETE FROM tmp_cdm_product_names;
DELETE FROM tmp_cdm_product_renamed;
DELETE FROM tmp_cdm_category_names;
DELETE FROM tmp_cdm_category_renamed;
DELETE FROM tmp_cdm_changed;
