-- Least recently tried first, so orders that still miss data do not starve the others.
-- SKIP LOCKED lets replicas (and `streamvault reprocess-parked`) share the work.
SELECT message::text, source_topic, source_partition, source_offset
FROM stg.parked_orders
ORDER BY last_attempt_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;
