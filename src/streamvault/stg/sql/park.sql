INSERT INTO stg.parked_orders (object_id, update_ts, sent_dttm, message, missing, source_topic, source_partition, source_offset)
SELECT DISTINCT ON (object_id, update_ts, sent_dttm)
       object_id, update_ts, sent_dttm, message, missing, source_topic, source_partition, source_offset
FROM tmp_parked
ORDER BY object_id, update_ts, sent_dttm
ON CONFLICT (object_id, update_ts, sent_dttm) DO UPDATE SET missing = excluded.missing, last_attempt_at = now();
