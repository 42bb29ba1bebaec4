-- Marts (SPEC §2.3), maintained incrementally by the CDM service.
CREATE SCHEMA cdm;

CREATE TABLE cdm.user_product_counters (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid NOT NULL,
    product_id   uuid NOT NULL,
    product_name varchar(256) NOT NULL,
    order_cnt    integer NOT NULL CHECK (order_cnt >= 0),
    UNIQUE (user_id, product_id)
);
CREATE INDEX user_product_counters_product_idx ON cdm.user_product_counters (product_id);

CREATE TABLE cdm.user_category_counters (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid NOT NULL,
    category_id   uuid NOT NULL,
    category_name varchar(256) NOT NULL,
    order_cnt     integer NOT NULL CHECK (order_cnt >= 0),
    UNIQUE (user_id, category_id)
);
CREATE INDEX user_category_counters_category_idx ON cdm.user_category_counters (category_id);

-- What each order currently contributes to the counters, and from which version, so that a
-- replayed or older version changes nothing and a newer one applies only its difference.
CREATE TABLE cdm.srv_order_contributions (
    order_id     uuid PRIMARY KEY,
    user_id      uuid,
    version_ts   timestamp,
    version_sent timestamp,
    counted      boolean NOT NULL DEFAULT false,
    product_ids  uuid[] NOT NULL DEFAULT '{}',
    category_ids uuid[] NOT NULL DEFAULT '{}'
);

-- The newest known name of each dish, with the source time it is valid from.
CREATE TABLE cdm.srv_product_names (
    product_id   uuid PRIMARY KEY,
    name         varchar(256) NOT NULL,
    effective_dt timestamp NOT NULL
);
