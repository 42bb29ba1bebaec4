-- One version order everywhere (SPEC §3): by update_ts, then sent_dttm. Two versions of an order may
-- share an update_ts (1-second resolution), so the order satellites record sent_dttm beside effective_dt
-- and both order a key's rows; rows loaded before know no sent time and sort first at their effective_dt.
ALTER TABLE dds.s_order_status ADD COLUMN sent_dttm timestamp NOT NULL DEFAULT '0001-01-01';
ALTER TABLE dds.s_order_status ALTER COLUMN sent_dttm DROP DEFAULT,
                               DROP CONSTRAINT s_order_status_pkey,
                               ADD PRIMARY KEY (h_order_pk, effective_dt, sent_dttm);
ALTER TABLE dds.s_order_cost ADD COLUMN sent_dttm timestamp NOT NULL DEFAULT '0001-01-01';
ALTER TABLE dds.s_order_cost ALTER COLUMN sent_dttm DROP DEFAULT,
                             DROP CONSTRAINT s_order_cost_pkey,
                             ADD PRIMARY KEY (h_order_pk, effective_dt, sent_dttm);

-- The newest version seen per key, in the same order (names keep '0001-01-01': they have no sent time).
ALTER TABLE dds.srv_sat_watermarks ADD COLUMN sent_dttm timestamp NOT NULL DEFAULT '0001-01-01';

-- A category's key ignores letter case (streamvault.hashing), so `Супы` -> `СУПЫ` keeps the key under a new
-- display name: its newest known name, from the time of the restaurant record that carries it, as for
-- dishes in cdm.srv_product_names. One of the names shown so far starts it, older than any record, and
-- every counter row of the category shows it from now on.
CREATE TABLE cdm.srv_category_names (
    category_id  uuid PRIMARY KEY,
    name         varchar(256) NOT NULL,
    effective_dt timestamp NOT NULL
) WITH (fillfactor = 70);
INSERT INTO cdm.srv_category_names (category_id, name, effective_dt)
SELECT DISTINCT ON (category_id) category_id, category_name, '0001-01-01'
FROM cdm.user_category_counters
ORDER BY category_id, category_name;
UPDATE cdm.user_category_counters AS c
SET category_name = n.name
FROM cdm.srv_category_names AS n
WHERE c.category_id = n.category_id AND c.category_name <> n.name;
