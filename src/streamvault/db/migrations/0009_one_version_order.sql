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
