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
-- Empty at the start of each use: a batch bisected to find a bad message loads its halves in one
-- transaction. DELETE, not TRUNCATE: on a temp table of a few hundred rows TRUNCATE costs milliseconds
-- (new files for the table and its TOAST, catalog rows); ON COMMIT DELETE ROWS empties them at commit.
DELETE FROM tmp_order_events;
DELETE FROM tmp_parked;
