-- Staging: the raw source objects, newest version per object (SPEC §2.1).
CREATE SCHEMA stg;

CREATE TABLE stg.order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_id   bigint      NOT NULL,
    object_type varchar(64) NOT NULL,
    sent_dttm   timestamp   NOT NULL,
    update_ts   timestamp,                -- payload.update_ts: the version (NULL for objects without one)
    payload     jsonb       NOT NULL,
    load_dt     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_events_object_uq UNIQUE (object_type, object_id)
);

-- Order versions whose reference data (user, restaurant, menu item) is not in Redis yet.
CREATE TABLE stg.parked_orders (
    object_id        bigint      NOT NULL,
    update_ts        timestamp   NOT NULL,
    sent_dttm        timestamp   NOT NULL,
    message          jsonb       NOT NULL,
    missing          text[]      NOT NULL CHECK (cardinality(missing) > 0),
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_id, update_ts, sent_dttm)
);
