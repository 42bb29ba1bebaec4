CREATE TEMP TABLE IF NOT EXISTS tmp_order_events (
    object_id   bigint,
    object_type varchar(64),
    sent_dttm   timestamp,
    update_ts   timestamp,
    payload     jsonb
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_parked (
    object_id        bigint,
    update_ts        timestamp,
    sent_dttm        timestamp,
    message          jsonb,
    missing          text[],
    source_topic     text,
    source_partition integer,
    source_offset    bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS tmp_forwarded (
    object_id bigint,
    update_ts timestamp,
    sent_dttm timestamp
) ON COMMIT DELETE ROWS;
TRUNCATE tmp_order_events, tmp_parked, tmp_forwarded;
