-- Each changed order takes back what its previous version contributed and adds what the new one does;
-- only the net difference per (user, dish) and (user, category) touches the marts.
CREATE TEMP TABLE IF NOT EXISTS tmp_cdm_deltas (kind char(1), user_id uuid, item_id uuid, delta integer)
ON COMMIT DELETE ROWS;
-- DELETE, not TRUNCATE: see temp_tables.sql.
DELETE FROM tmp_cdm_deltas;

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

-- One MERGE per mart: a pair with a row changes in place, a pair without one is inserted. The
-- identity id is drawn only for an inserted row (INSERT ... ON CONFLICT drew one for every proposed
-- row, existing or not). A negative delta never creates a row: removals only ever meet existing rows.
-- Should another transaction insert the same pair meanwhile (only a stale replica during a rebalance
-- can), the unique key refuses the insert and the batch is bisected: each retried part sees that row.
MERGE INTO cdm.user_product_counters AS c
USING (SELECT d.user_id, d.item_id, d.delta, n.name
       FROM tmp_cdm_deltas AS d
       LEFT JOIN cdm.srv_product_names AS n ON n.product_id = d.item_id
       WHERE d.kind = 'p') AS d
ON c.user_id = d.user_id AND c.product_id = d.item_id
WHEN MATCHED THEN UPDATE SET order_cnt = c.order_cnt + d.delta
WHEN NOT MATCHED AND d.delta > 0 THEN
    INSERT (user_id, product_id, product_name, order_cnt) VALUES (d.user_id, d.item_id, d.name, d.delta);

MERGE INTO cdm.user_category_counters AS c
USING (SELECT d.user_id, d.item_id, d.delta, n.name
       FROM tmp_cdm_deltas AS d
       LEFT JOIN (SELECT DISTINCT ON (category_id) category_id, name FROM tmp_cdm_category_names
                  ORDER BY category_id, name) AS n ON n.category_id = d.item_id
       WHERE d.kind = 'c') AS d
ON c.user_id = d.user_id AND c.category_id = d.item_id
WHEN MATCHED THEN UPDATE SET order_cnt = c.order_cnt + d.delta
WHEN NOT MATCHED AND d.delta > 0 THEN
    INSERT (user_id, category_id, category_name, order_cnt) VALUES (d.user_id, d.item_id, d.name, d.delta);

-- A pair whose count falls to 0 has no row (only a removal can bring it there).
DELETE FROM cdm.user_product_counters AS c
USING tmp_cdm_deltas AS d
WHERE d.kind = 'p' AND d.delta < 0 AND c.user_id = d.user_id AND c.product_id = d.item_id AND c.order_cnt = 0;

DELETE FROM cdm.user_category_counters AS c
USING tmp_cdm_deltas AS d
WHERE d.kind = 'c' AND d.delta < 0 AND c.user_id = d.user_id AND c.category_id = d.item_id AND c.order_cnt = 0;

-- The keys as an array too (changed_orders.sql says why).
UPDATE cdm.srv_order_contributions AS c
SET user_id = t.user_id, version_ts = t.version_ts, version_sent = t.version_sent, counted = t.counted,
    product_ids = t.product_ids, category_ids = t.category_ids
FROM tmp_cdm_changed AS t
WHERE c.order_id = t.order_id AND NOT t.first_seen
  AND c.order_id = ANY (ARRAY(SELECT order_id FROM tmp_cdm_changed WHERE NOT first_seen));
