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
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_category_names (
    category_id uuid,
    name        varchar(256)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_changed (
    order_id         uuid,
    user_id          uuid,
    version_ts       timestamp,
    version_sent     timestamp,
    counted          boolean,
    product_ids      uuid[],
    category_ids     uuid[],
    old_user_id      uuid,
    old_counted      boolean,
    old_product_ids  uuid[],
    old_category_ids uuid[]
) ON COMMIT DELETE ROWS;
TRUNCATE tmp_cdm_orders, tmp_cdm_product_names, tmp_cdm_category_names, tmp_cdm_changed;
