-- Each changed order takes back what its previous version contributed and adds what the new one does;
-- only the net difference per (user, dish) and (user, category) touches the marts.
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_deltas (kind char(1), user_id uuid, item_id uuid, delta integer)
ON COMMIT DELETE ROWS;
TRUNCATE tmp_cdm_deltas;

INSERT INTO tmp_cdm_deltas
SELECT kind, user_id, item_id, sum(delta)
FROM (
    SELECT 'p' AS kind, old_user_id AS user_id, unnest(old_product_ids) AS item_id, -1 AS delta
    FROM tmp_cdm_changed WHERE old_counted
    UNION ALL
    SELECT 'p', user_id, unnest(product_ids), 1 FROM tmp_cdm_changed WHERE counted
    UNION ALL
    SELECT 'c', old_user_id, unnest(old_category_ids), -1 FROM tmp_cdm_changed WHERE old_counted
    UNION ALL
    SELECT 'c', user_id, unnest(category_ids), 1 FROM tmp_cdm_changed WHERE counted
) AS contributions
GROUP BY kind, user_id, item_id
HAVING sum(delta) <> 0;

-- Pairs that have a row change in place; only pairs without one are inserted, so the identity
-- sequence is drawn once per row ever created, never for an update (ON CONFLICT would draw one for
-- every proposed row). Removals only ever meet existing rows: a negative delta is never proposed as
-- an insert (the CHECK would see it before ON CONFLICT does). ON CONFLICT stays for a row inserted
-- meanwhile by another transaction (a stale replica during a rebalance).
UPDATE cdm.user_product_counters AS c
SET order_cnt = c.order_cnt + d.delta
FROM tmp_cdm_deltas AS d
WHERE d.kind = 'p' AND c.user_id = d.user_id AND c.product_id = d.item_id;

INSERT INTO cdm.user_product_counters AS c (user_id, product_id, product_name, order_cnt)
SELECT d.user_id, d.item_id, n.name, d.delta
FROM tmp_cdm_deltas AS d
JOIN cdm.srv_product_names AS n ON n.product_id = d.item_id
WHERE d.kind = 'p' AND d.delta > 0
  AND NOT EXISTS (SELECT FROM cdm.user_product_counters AS e WHERE e.user_id = d.user_id AND e.product_id = d.item_id)
ORDER BY d.user_id, d.item_id
ON CONFLICT (user_id, product_id) DO UPDATE SET order_cnt = c.order_cnt + excluded.order_cnt;

UPDATE cdm.user_category_counters AS c
SET order_cnt = c.order_cnt + d.delta
FROM tmp_cdm_deltas AS d
WHERE d.kind = 'c' AND c.user_id = d.user_id AND c.category_id = d.item_id;

INSERT INTO cdm.user_category_counters AS c (user_id, category_id, category_name, order_cnt)
SELECT d.user_id, d.item_id, n.name, d.delta
FROM tmp_cdm_deltas AS d
JOIN (SELECT DISTINCT ON (category_id) category_id, name FROM tmp_cdm_category_names
      ORDER BY category_id, name) AS n ON n.category_id = d.item_id
WHERE d.kind = 'c' AND d.delta > 0
  AND NOT EXISTS (SELECT FROM cdm.user_category_counters AS e WHERE e.user_id = d.user_id AND e.category_id = d.item_id)
ORDER BY d.user_id, d.item_id
ON CONFLICT (user_id, category_id) DO UPDATE SET order_cnt = c.order_cnt + excluded.order_cnt;

-- A pair whose count falls to 0 has no row (only a removal can bring it there).
DELETE FROM cdm.user_product_counters AS c
USING tmp_cdm_deltas AS d
WHERE d.kind = 'p' AND d.delta < 0 AND c.user_id = d.user_id AND c.product_id = d.item_id AND c.order_cnt = 0;

DELETE FROM cdm.user_category_counters AS c
USING tmp_cdm_deltas AS d
WHERE d.kind = 'c' AND d.delta < 0 AND c.user_id = d.user_id AND c.category_id = d.item_id AND c.order_cnt = 0;

UPDATE cdm.srv_order_contributions AS c
SET user_id = t.user_id, version_ts = t.version_ts, version_sent = t.version_sent, counted = t.counted,
    product_ids = t.product_ids, category_ids = t.category_ids
FROM tmp_cdm_changed AS t
WHERE c.order_id = t.order_id AND NOT t.first_seen;
