-- `streamvault verify` and `streamvault rebuild cdm` (docs/operations.md#verify-and-rebuild).

-- What each order contributes to the marts according to the Data Vault alone (SPEC §2.3): its current
-- version (the newest of its status satellite's rows and watermark), counted when that version is CLOSED,
-- with every dish linked to the order and those dishes' categories. verify compares the marts with it;
-- rebuild cdm writes the marts and cdm.srv_order_contributions from it. An order's dishes and a dish's
-- category do not change between versions (the source snapshots them), so the links are that set.
CREATE VIEW cdm.v_dds_order_contributions AS
WITH versions AS (
    SELECT DISTINCT ON (h_order_pk) h_order_pk, effective_dt, sent_dttm
    FROM (SELECT h_order_pk, effective_dt, sent_dttm FROM dds.s_order_status
          UNION ALL
          SELECT hk, effective_dt, sent_dttm FROM dds.srv_sat_watermarks WHERE sat = 's_order_status') AS v
    ORDER BY h_order_pk, effective_dt DESC, sent_dttm DESC
), current_status AS (
    SELECT DISTINCT ON (h_order_pk) h_order_pk, status
    FROM dds.s_order_status
    ORDER BY h_order_pk, effective_dt DESC, sent_dttm DESC
), products AS (
    SELECT l.h_order_pk, array_agg(l.h_product_pk ORDER BY l.h_product_pk) AS product_ids
    FROM dds.l_order_product AS l
    GROUP BY l.h_order_pk
), categories AS (
    SELECT l.h_order_pk, array_agg(DISTINCT c.h_category_pk ORDER BY c.h_category_pk) AS category_ids
    FROM dds.l_order_product AS l
    JOIN dds.l_product_category AS c USING (h_product_pk)
    GROUP BY l.h_order_pk
)
SELECT o.h_order_pk AS order_id, u.h_user_pk AS user_id, v.effective_dt AS version_ts, v.sent_dttm AS version_sent,
       coalesce(s.status = 'CLOSED', false) AS counted,
       coalesce(p.product_ids, '{}') AS product_ids, coalesce(c.category_ids, '{}') AS category_ids
FROM dds.h_order AS o
LEFT JOIN versions AS v USING (h_order_pk)
LEFT JOIN current_status AS s USING (h_order_pk)
LEFT JOIN (SELECT DISTINCT ON (h_order_pk) h_order_pk, h_user_pk FROM dds.l_order_user
           ORDER BY h_order_pk, h_user_pk) AS u USING (h_order_pk)
LEFT JOIN products AS p USING (h_order_pk)
LEFT JOIN categories AS c USING (h_order_pk);

-- The newest name of each dish in the Data Vault (SPEC §2.3: the latest effective time wins), and the newest
-- time it was seen: a later order carrying the same name adds no row but moves the satellite's watermark.
CREATE VIEW cdm.v_dds_product_names AS
SELECT n.product_id, n.name, greatest(n.effective_dt, w.effective_dt) AS effective_dt
FROM (SELECT DISTINCT ON (h_product_pk) h_product_pk AS product_id, name, effective_dt
      FROM dds.s_product_names
      ORDER BY h_product_pk, effective_dt DESC) AS n
LEFT JOIN dds.srv_sat_watermarks AS w ON w.sat = 's_product_names' AND w.hk = n.product_id;

-- The last `streamvault verify`, for `streamvault status`: one row.
CREATE TABLE cdm.srv_last_verify (
    single      boolean     PRIMARY KEY DEFAULT true CHECK (single),
    finished_at timestamptz NOT NULL,
    consistent  boolean     NOT NULL,
    drift       bigint      NOT NULL,
    in_flight   bigint      NOT NULL,
    report      jsonb       NOT NULL
);
