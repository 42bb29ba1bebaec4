-- An order seen for the first time contributes its version whole: one insert, nothing to take back.
WITH first_seen AS (
    INSERT INTO cdm.srv_order_contributions AS c
        (order_id, user_id, version_ts, version_sent, counted, product_ids, category_ids)
    SELECT order_id, user_id, version_ts, version_sent, counted, product_ids, category_ids
    FROM tmp_cdm_orders
    ORDER BY order_id
    ON CONFLICT DO NOTHING
    RETURNING c.*
)
INSERT INTO tmp_cdm_changed
SELECT f.*, NULL, false, '{}', '{}', true FROM first_seen AS f;

-- A known order: lock its row (in key order: replicas never deadlock) and keep the versions newer
-- than the one it is counted with. The keys as an array: the planner cannot count the temp tables, and
-- with a set it chose a scan of all contributions (one row per order ever seen) while they were mid-sized.
INSERT INTO tmp_cdm_changed
SELECT t.order_id, t.user_id, t.version_ts, t.version_sent, t.counted, t.product_ids, t.category_ids,
       c.user_id, c.counted, c.product_ids, c.category_ids, false
FROM tmp_cdm_orders AS t
JOIN (SELECT * FROM cdm.srv_order_contributions
      WHERE order_id = ANY (ARRAY(SELECT order_id FROM tmp_cdm_orders
                                  EXCEPT SELECT order_id FROM tmp_cdm_changed))
      ORDER BY order_id
      FOR UPDATE) AS c USING (order_id)
WHERE (t.version_ts, t.version_sent) > (c.version_ts, c.version_sent);
