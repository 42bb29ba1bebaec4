-- Rows per layer for `streamvault status`: "<schema>.<table>" names the layer and the table.
SELECT
    (SELECT count(*) FROM stg.order_events)           AS "stg.order_events",
    (SELECT count(*) FROM stg.parked_orders)          AS "stg.parked_orders",
    (SELECT orders FROM stg.parked_expired)           AS "stg.parked_expired",
    (SELECT count(*) FROM dds.h_order)                AS "dds.h_order",
    (SELECT count(*) FROM dds.h_user)                 AS "dds.h_user",
    (SELECT count(*) FROM dds.h_product)              AS "dds.h_product",
    (SELECT count(*) FROM dds.h_restaurant)           AS "dds.h_restaurant",
    (SELECT count(*) FROM dds.h_category)             AS "dds.h_category",
    (SELECT count(*) FROM dds.l_order_product)        AS "dds.l_order_product",
    (SELECT count(*) FROM dds.s_order_status)         AS "dds.s_order_status",
    (SELECT count(*) FROM cdm.user_product_counters)  AS "cdm.user_product_counters",
    (SELECT count(*) FROM cdm.user_category_counters) AS "cdm.user_category_counters";
