-- A parked version that has now gone downstream (redelivered, re-driven) is no longer waiting.
DELETE FROM stg.parked_orders p
USING tmp_forwarded f
WHERE p.object_id = f.object_id AND p.update_ts = f.update_ts AND p.sent_dttm = f.sent_dttm;
