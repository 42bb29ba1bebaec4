-- stg -> dds, per order, in verify's snapshot: the newest stg version of every order beside what the Data
-- Vault holds for it. A satellite's version is the newest of its rows and its watermark (a newer version
-- whose attributes were unchanged adds no row); the order has reached dds when both order satellites
-- are at its stg version or newer. A version still parked waits for reference data: it is not compared.
DROP TABLE IF EXISTS verify_orders;
CREATE TEMP TABLE verify_orders AS
WITH stg_orders AS (
    SELECT e.object_id AS order_id, e.update_ts, e.sent_dttm, e.payload,
           EXISTS (SELECT FROM stg.parked_orders AS p
                   WHERE p.object_id = e.object_id AND p.update_ts = e.update_ts AND p.sent_dttm = e.sent_dttm) AS parked
    FROM stg.order_events AS e
    WHERE e.object_type = 'order'
), sat_versions AS (
    SELECT DISTINCT ON (sat, hk) sat, hk, effective_dt, sent_dttm
    FROM (SELECT 's_order_status' AS sat, h_order_pk AS hk, effective_dt, sent_dttm FROM dds.s_order_status
          UNION ALL
          SELECT 's_order_cost', h_order_pk, effective_dt, sent_dttm FROM dds.s_order_cost
          UNION ALL
          SELECT sat, hk, effective_dt, sent_dttm FROM dds.srv_sat_watermarks
          WHERE sat IN ('s_order_status', 's_order_cost')) AS v
    ORDER BY sat, hk, effective_dt DESC, sent_dttm DESC
), status AS (
    SELECT DISTINCT ON (h_order_pk) h_order_pk, status
    FROM dds.s_order_status
    ORDER BY h_order_pk, effective_dt DESC, sent_dttm DESC
), cost AS (
    SELECT DISTINCT ON (h_order_pk) h_order_pk, cost, payment
    FROM dds.s_order_cost
    ORDER BY h_order_pk, effective_dt DESC, sent_dttm DESC
), compared AS (
    SELECT coalesce(s.order_id, h.order_id) AS order_id, h.h_order_pk, s.update_ts, s.sent_dttm, s.payload,
           s.order_id IS NOT NULL AS in_stg, coalesce(s.parked, false) AS parked,
           coalesce((vs.effective_dt, vs.sent_dttm) >= (s.update_ts, s.sent_dttm)
                    AND (vc.effective_dt, vc.sent_dttm) >= (s.update_ts, s.sent_dttm), false) AS reached,
           coalesce((vs.effective_dt, vs.sent_dttm) > (s.update_ts, s.sent_dttm)
                    OR (vc.effective_dt, vc.sent_dttm) > (s.update_ts, s.sent_dttm), false) AS ahead,
           st.status, c.cost, c.payment
    FROM stg_orders AS s
    FULL JOIN dds.h_order AS h ON h.order_id = s.order_id
    LEFT JOIN sat_versions AS vs ON vs.sat = 's_order_status' AND vs.hk = h.h_order_pk
    LEFT JOIN sat_versions AS vc ON vc.sat = 's_order_cost' AND vc.hk = h.h_order_pk
    LEFT JOIN status AS st ON st.h_order_pk = h.h_order_pk
    LEFT JOIN cost AS c ON c.h_order_pk = h.h_order_pk
), forwarded_dishes AS (
    -- The dishes of every stg version that reached dds: each must be linked to its order.
    SELECT DISTINCT o.order_id, o.h_order_pk, item ->> 'id' AS product_id
    FROM compared AS o, jsonb_array_elements(o.payload -> 'order_items') AS item
    WHERE o.reached AND NOT o.parked
), unlinked AS (
    SELECT d.order_id, count(*) AS dishes
    FROM forwarded_dishes AS d
    LEFT JOIN dds.h_product AS p ON p.product_id = d.product_id
    LEFT JOIN dds.l_order_product AS l ON l.h_order_pk = d.h_order_pk AND l.h_product_pk = p.h_product_pk
    WHERE l.h_order_pk IS NULL
    GROUP BY d.order_id
), user_linked AS (
    SELECT DISTINCT o.order_id
    FROM compared AS o
    JOIN dds.l_order_user AS l ON l.h_order_pk = o.h_order_pk
    JOIN dds.h_user AS u ON u.h_user_pk = l.h_user_pk AND u.user_id = o.payload -> 'user' ->> 'id'
    WHERE o.reached AND NOT o.parked
)
SELECT o.order_id, o.h_order_pk, o.update_ts, o.sent_dttm,
       CASE WHEN NOT o.in_stg THEN 'in dds, not in stg'
            WHEN o.parked THEN NULL
            WHEN NOT o.reached THEN 'in flight'
            WHEN ul.order_id IS NULL THEN format('not linked to its user %s', o.payload -> 'user' ->> 'id')
            WHEN un.dishes > 0 THEN format('%s of its dishes not linked', un.dishes)
            ELSE 'ok' END AS stg_dds,
       CASE WHEN NOT o.in_stg OR o.h_order_pk IS NULL THEN NULL
            WHEN o.ahead THEN format('dds holds a version newer than stg''s %s / %s', o.update_ts, o.sent_dttm)
            WHEN o.parked OR NOT o.reached THEN NULL
            WHEN o.status IS DISTINCT FROM o.payload ->> 'final_status'
                THEN format('status %s, stg %s', o.status, o.payload ->> 'final_status')
            WHEN o.cost IS DISTINCT FROM round((o.payload ->> 'cost')::numeric, 5)
                 OR o.payment IS DISTINCT FROM round((o.payload ->> 'payment')::numeric, 5)
                THEN format('cost %s / payment %s, stg %s / %s', o.cost, o.payment, o.payload ->> 'cost',
                            o.payload ->> 'payment')
            ELSE 'ok' END AS current_rows
FROM compared AS o
LEFT JOIN user_linked AS ul USING (order_id)
LEFT JOIN unlinked AS un USING (order_id);

-- Temp tables are never analysed automatically: the checks join it.
ANALYZE verify_orders;
