-- Where the last demo run's orders end: the next run continues after the highest object id and
-- from the latest version's time, in the same simulated world (same seed).
SELECT max(object_id) AS last_object_id, max(update_ts) AS last_update_ts
FROM stg.order_events;
