-- Claim each order of the batch (placeholder row, then row lock in key order: replicas never deadlock),
-- and keep the versions newer than the one each order is counted with.
INSERT INTO cdm.srv_order_contributions (order_id)
SELECT order_id FROM tmp_cdm_orders ORDER BY order_id
ON CONFLICT DO NOTHING;

INSERT INTO tmp_cdm_changed
SELECT t.order_id, t.user_id, t.version_ts, t.version_sent, t.counted, t.product_ids, t.category_ids,
       c.user_id, c.counted, c.product_ids, c.category_ids
FROM tmp_cdm_orders AS t
JOIN (SELECT * FROM cdm.srv_order_contributions
      WHERE order_id IN (SELECT order_id FROM tmp_cdm_orders)
      ORDER BY order_id
      FOR UPDATE) AS c USING (order_id)
WHERE c.version_ts IS NULL OR (t.version_ts, t.version_sent) > (c.version_ts, c.version_sent);
