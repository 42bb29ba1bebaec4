-- dds -> cdm, per order, in verify's snapshot: what the Data Vault says the order contributes to the marts
-- beside what the CDM service counts for it (cdm.srv_order_contributions). Until CDM has taken in the
-- order's current dds version, the order is in flight and the marts must reflect what CDM counts now;
-- otherwise they must reflect the Data Vault's contribution.
DROP TABLE IF EXISTS verify_contributions;
CREATE TEMP TABLE verify_contributions AS
WITH pairs AS (
    SELECT coalesce(d.order_id, c.order_id) AS order_pk, d.version_ts, d.version_sent,
           d.order_id IS NOT NULL AND d.version_ts IS NOT NULL
               AND (c.order_id IS NULL OR (c.version_ts, c.version_sent) < (d.version_ts, d.version_sent)) AS in_flight,
           d.order_id IS NULL AS only_cdm, d.version_ts IS NULL AS no_dds_version,
           (c.version_ts, c.version_sent) > (d.version_ts, d.version_sent) AS cdm_ahead,
           d.user_id AS dds_user, d.counted AS dds_counted, d.product_ids AS dds_products, d.category_ids AS dds_categories,
           c.order_id IS NOT NULL AS in_cdm, c.user_id AS cdm_user, c.counted AS cdm_counted,
           c.product_ids AS cdm_products, c.category_ids AS cdm_categories
    FROM cdm.v_dds_order_contributions AS d
    FULL JOIN cdm.srv_order_contributions AS c ON c.order_id = d.order_id
)
SELECT p.order_pk, h.order_id, p.version_ts, p.version_sent,
       CASE WHEN p.only_cdm THEN 'in cdm, not in dds'
            WHEN p.no_dds_version THEN CASE WHEN p.in_cdm THEN 'in cdm, without a status in dds' END
            WHEN p.in_flight THEN 'in flight'
            WHEN p.cdm_ahead THEN 'cdm counts a version newer than dds has'
            WHEN p.cdm_user IS DISTINCT FROM p.dds_user THEN 'counted for another user'
            WHEN p.cdm_counted AND NOT p.dds_counted THEN 'counted, but not CLOSED in dds'
            WHEN p.dds_counted AND NOT p.cdm_counted THEN 'CLOSED in dds, but not counted'
            WHEN NOT (p.cdm_products @> p.dds_products AND p.dds_products @> p.cdm_products) THEN 'other dishes'
            WHEN NOT (p.cdm_categories @> p.dds_categories AND p.dds_categories @> p.cdm_categories)
                THEN 'other categories'
            ELSE 'ok' END AS verdict,
       CASE WHEN p.in_flight THEN p.cdm_user ELSE p.dds_user END AS user_id,
       coalesce(CASE WHEN p.in_flight THEN p.cdm_counted ELSE p.dds_counted END, false) AS counted,
       CASE WHEN p.in_flight THEN p.cdm_products ELSE p.dds_products END AS product_ids,
       CASE WHEN p.in_flight THEN p.cdm_categories ELSE p.dds_categories END AS category_ids
FROM pairs AS p
LEFT JOIN dds.h_order AS h ON h.h_order_pk = p.order_pk;

-- Temp tables are never analysed automatically: the checks join it.
ANALYZE verify_contributions;
