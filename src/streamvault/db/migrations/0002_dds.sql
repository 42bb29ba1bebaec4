-- Data Vault 2.0 (SPEC §2.2). Keys are streamvault.hashing.hash_key() UUIDs, see docs/data-vault.md.
-- Hubs and links are insert-only sets; satellites are insert-only history ordered by effective_dt
-- (the source's own time), so a late, older version never becomes the current row.
CREATE SCHEMA dds;

CREATE TABLE dds.h_user (
    h_user_pk uuid PRIMARY KEY,
    user_id   varchar(64) NOT NULL UNIQUE,
    load_dt   timestamptz NOT NULL,
    load_src  varchar(64) NOT NULL
);
CREATE TABLE dds.h_product (
    h_product_pk uuid PRIMARY KEY,
    product_id   varchar(64) NOT NULL UNIQUE,
    load_dt      timestamptz NOT NULL,
    load_src     varchar(64) NOT NULL
);
CREATE TABLE dds.h_category (
    h_category_pk uuid PRIMARY KEY,
    category_name varchar(256) NOT NULL UNIQUE,
    load_dt       timestamptz NOT NULL,
    load_src      varchar(64) NOT NULL
);
CREATE TABLE dds.h_restaurant (
    h_restaurant_pk uuid PRIMARY KEY,
    restaurant_id   varchar(64) NOT NULL UNIQUE,
    load_dt         timestamptz NOT NULL,
    load_src        varchar(64) NOT NULL
);
CREATE TABLE dds.h_order (
    h_order_pk uuid PRIMARY KEY,
    order_id   bigint    NOT NULL UNIQUE,
    order_dt   timestamp NOT NULL,
    load_dt    timestamptz NOT NULL,
    load_src   varchar(64) NOT NULL
);

CREATE TABLE dds.l_order_product (
    hk_order_product_pk uuid PRIMARY KEY,
    h_order_pk   uuid NOT NULL REFERENCES dds.h_order,
    h_product_pk uuid NOT NULL REFERENCES dds.h_product,
    load_dt      timestamptz NOT NULL,
    load_src     varchar(64) NOT NULL,
    UNIQUE (h_order_pk, h_product_pk)
);
CREATE TABLE dds.l_product_restaurant (
    hk_product_restaurant_pk uuid PRIMARY KEY,
    h_product_pk    uuid NOT NULL REFERENCES dds.h_product,
    h_restaurant_pk uuid NOT NULL REFERENCES dds.h_restaurant,
    load_dt         timestamptz NOT NULL,
    load_src        varchar(64) NOT NULL,
    UNIQUE (h_product_pk, h_restaurant_pk)
);
CREATE TABLE dds.l_product_category (
    hk_product_category_pk uuid PRIMARY KEY,
    h_product_pk  uuid NOT NULL REFERENCES dds.h_product,
    h_category_pk uuid NOT NULL REFERENCES dds.h_category,
    load_dt       timestamptz NOT NULL,
    load_src      varchar(64) NOT NULL,
    UNIQUE (h_product_pk, h_category_pk)
);
CREATE TABLE dds.l_order_user (
    hk_order_user_pk uuid PRIMARY KEY,
    h_order_pk uuid NOT NULL REFERENCES dds.h_order,
    h_user_pk  uuid NOT NULL REFERENCES dds.h_user,
    load_dt    timestamptz NOT NULL,
    load_src   varchar(64) NOT NULL,
    UNIQUE (h_order_pk, h_user_pk)
);

CREATE TABLE dds.s_user_names (
    h_user_pk              uuid NOT NULL REFERENCES dds.h_user,
    username               varchar(256) NOT NULL,
    userlogin              varchar(256) NOT NULL,
    effective_dt           timestamp NOT NULL,
    load_dt                timestamptz NOT NULL,
    load_src               varchar(64) NOT NULL,
    hk_user_names_hashdiff uuid NOT NULL,
    PRIMARY KEY (h_user_pk, effective_dt)
);
CREATE TABLE dds.s_product_names (
    h_product_pk              uuid NOT NULL REFERENCES dds.h_product,
    name                      varchar(256) NOT NULL,
    effective_dt              timestamp NOT NULL,
    load_dt                   timestamptz NOT NULL,
    load_src                  varchar(64) NOT NULL,
    hk_product_names_hashdiff uuid NOT NULL,
    PRIMARY KEY (h_product_pk, effective_dt)
);
CREATE TABLE dds.s_restaurant_names (
    h_restaurant_pk              uuid NOT NULL REFERENCES dds.h_restaurant,
    name                         varchar(256) NOT NULL,
    effective_dt                 timestamp NOT NULL,
    load_dt                      timestamptz NOT NULL,
    load_src                     varchar(64) NOT NULL,
    hk_restaurant_names_hashdiff uuid NOT NULL,
    PRIMARY KEY (h_restaurant_pk, effective_dt)
);
CREATE TABLE dds.s_order_cost (
    h_order_pk             uuid NOT NULL REFERENCES dds.h_order,
    cost                   numeric(19, 5) NOT NULL CHECK (cost >= 0),
    payment                numeric(19, 5) NOT NULL CHECK (payment >= 0),
    effective_dt           timestamp NOT NULL,
    load_dt                timestamptz NOT NULL,
    load_src               varchar(64) NOT NULL,
    hk_order_cost_hashdiff uuid NOT NULL,
    PRIMARY KEY (h_order_pk, effective_dt)
);
CREATE TABLE dds.s_order_status (
    h_order_pk               uuid NOT NULL REFERENCES dds.h_order,
    status                   varchar(16) NOT NULL CHECK (status IN ('OPEN', 'COOKING', 'DELIVERING', 'CLOSED', 'CANCELLED')),
    effective_dt             timestamp NOT NULL,
    load_dt                  timestamptz NOT NULL,
    load_src                 varchar(64) NOT NULL,
    hk_order_status_hashdiff uuid NOT NULL,
    PRIMARY KEY (h_order_pk, effective_dt)
);
