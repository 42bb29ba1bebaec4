-- In a new snapshot, once every service has passed what was in flight at the first one: an order whose stg
-- version has still not reached dds never will (the DDS service passed it). The others have arrived since.
UPDATE verify_orders AS v
SET stg_dds = CASE WHEN EXISTS (
        SELECT FROM dds.h_order AS h
        WHERE h.order_id = v.order_id
          AND EXISTS (SELECT FROM (SELECT effective_dt, sent_dttm FROM dds.s_order_status WHERE h_order_pk = h.h_order_pk
                                   UNION ALL
                                   SELECT effective_dt, sent_dttm FROM dds.srv_sat_watermarks
                                   WHERE sat = 's_order_status' AND hk = h.h_order_pk) AS s
                      WHERE (s.effective_dt, s.sent_dttm) >= (v.update_ts, v.sent_dttm))
          AND EXISTS (SELECT FROM (SELECT effective_dt, sent_dttm FROM dds.s_order_cost WHERE h_order_pk = h.h_order_pk
                                   UNION ALL
                                   SELECT effective_dt, sent_dttm FROM dds.srv_sat_watermarks
                                   WHERE sat = 's_order_cost' AND hk = h.h_order_pk) AS c
                      WHERE (c.effective_dt, c.sent_dttm) >= (v.update_ts, v.sent_dttm)))
    THEN 'arrived' ELSE format('version %s / %s never reached dds', v.update_ts, v.sent_dttm) END
WHERE v.stg_dds = 'in flight';
