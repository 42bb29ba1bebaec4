-- A version parked again (a redelivery) is rewritten only when what it waits for has changed.
INSERT INTO stg.parked_orders AS p
       (object_id, update_ts, sent_dttm, message, missing, source_topic, source_partition, source_offset)
SELECT DISTINCT ON (object_id, update_ts, sent_dttm)
       object_id, update_ts, sent_dttm, message, missing, source_topic, source_partition, source_offset
FROM tmp_parked
ORDER BY object_id, update_ts, sent_dttm
ON CONFLICT (object_id, update_ts, sent_dttm) DO UPDATE SET missing = excluded.missing
WHERE p.missing IS DISTINCT FROM excluded.missing;
