-- Orders parked longer than the bound give up: deleted here, counted, and sent to the dead-letter topic by
-- the caller in the same round (bounded by `limit`, oldest first, through the index on parked_at).
WITH expired AS (
    DELETE FROM stg.parked_orders
    WHERE (object_id, update_ts, sent_dttm) IN (
        SELECT object_id, update_ts, sent_dttm
        FROM stg.parked_orders
        WHERE parked_at < now() - make_interval(secs => %(max_age_s)s::float8)
        ORDER BY parked_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING object_id, message::text, missing, parked_at, source_topic, source_partition, source_offset
), counted AS (
    UPDATE stg.parked_expired SET orders = orders + (SELECT count(*) FROM expired)
    WHERE EXISTS (SELECT FROM expired)
)
SELECT object_id, message, missing, parked_at, source_topic, source_partition, source_offset FROM expired;
