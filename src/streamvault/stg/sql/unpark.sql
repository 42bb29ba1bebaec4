-- A parked version that has now gone downstream (redelivered, re-driven) is no longer waiting. The
-- versions go as arrays, not a temp table: the planner cannot count a temp table's rows, and joined
-- with one it scanned all of stg.parked_orders for every batch, which grows with every order that waits
-- (the soak's STG spent a third of its time here after 45 minutes). Each version is a primary-key lookup.
DELETE FROM stg.parked_orders p
USING unnest(%(object_ids)s::bigint[], %(update_ts)s::timestamp[], %(sent_dttm)s::timestamp[])
      AS f (object_id, update_ts, sent_dttm)
WHERE p.object_id = ANY(%(object_ids)s::bigint[])
  AND (p.object_id, p.update_ts, p.sent_dttm) = (f.object_id, f.update_ts, f.sent_dttm);
