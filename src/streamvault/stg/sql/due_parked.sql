-- Parked orders whose next attempt is due, the longest due first; the index on next_attempt_at keeps this
-- to `limit` rows whatever the table's size. SKIP LOCKED lets replicas (and `streamvault reprocess-parked`)
-- share the work.
SELECT message::text, source_topic, source_partition, source_offset
FROM stg.parked_orders
WHERE next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;
