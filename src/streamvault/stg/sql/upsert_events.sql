-- Newest version wins (by update_ts, then sent_dttm); an older version never overwrites a newer one.
INSERT INTO stg.order_events AS e (object_id, object_type, sent_dttm, update_ts, payload)
SELECT DISTINCT ON (object_type, object_id) object_id, object_type, sent_dttm, update_ts, payload
FROM tmp_order_events
ORDER BY object_type, object_id, update_ts DESC NULLS LAST, sent_dttm DESC
ON CONFLICT (object_type, object_id) DO UPDATE
SET sent_dttm = excluded.sent_dttm, update_ts = excluded.update_ts, payload = excluded.payload, load_dt = now()
WHERE (coalesce(excluded.update_ts, '-infinity'), excluded.sent_dttm)
    > (coalesce(e.update_ts, '-infinity'), e.sent_dttm);
