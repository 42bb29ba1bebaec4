-- Tried and still blocked: the next attempt waits twice as long as the last, up to the cap; the reason is
-- refreshed (a record may have gone from missing to malformed, or a menu item may now be the one missing).
-- The keys as an array too: the planner cannot count the temp table's rows and would scan every order that waits.
UPDATE stg.parked_orders p
SET missing = t.missing,
    attempts = p.attempts + 1,
    next_attempt_at = now() + make_interval(secs => least(%(retry_max_s)s::float8, 2.0 ^ least(p.attempts + 1, 40)))
FROM tmp_parked t
WHERE p.object_id = ANY(%(object_ids)s::bigint[])
  AND (p.object_id, p.update_ts, p.sent_dttm) = (t.object_id, t.update_ts, t.sent_dttm);
