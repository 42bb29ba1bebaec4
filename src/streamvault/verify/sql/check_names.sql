-- Names in the marts: every row shows its item's newest name as the CDM service keeps it, and that name is
-- the Data Vault's newest (dishes: the s_product_names row with the latest effective time; of two names at
-- one time either may win) or older while CDM has not taken in the newer one yet (in flight). A category's
-- key ignores case: its name equals the hub's up to case.
SELECT format('dish %s', coalesce(h.product_id, m.product_id::text)),
       CASE WHEN n.product_id IS NULL THEN 'no name in cdm.srv_product_names'
            WHEN m.wrong > 0 THEN format('%s mart rows do not show %s', m.wrong, n.name)
            WHEN d.product_id IS NULL THEN 'no name in dds'
            WHEN n.effective_dt > d.effective_dt
                THEN format('%s from %s, newer than dds''s %s from %s', n.name, n.effective_dt, d.name, d.effective_dt)
            WHEN n.effective_dt < d.effective_dt THEN 'in flight'
            ELSE 'ok' END
FROM (SELECT c.product_id, count(*) FILTER (WHERE c.product_name IS DISTINCT FROM n.name) AS wrong
      FROM cdm.user_product_counters AS c
      LEFT JOIN cdm.srv_product_names AS n USING (product_id)
      GROUP BY c.product_id) AS m
LEFT JOIN cdm.srv_product_names AS n USING (product_id)
LEFT JOIN cdm.v_dds_product_names AS d USING (product_id)
LEFT JOIN dds.h_product AS h ON h.h_product_pk = m.product_id
UNION ALL
SELECT format('category %s', coalesce(h.category_name, m.category_id::text)),
       CASE WHEN n.category_id IS NULL THEN 'no name in cdm.srv_category_names'
            WHEN m.wrong > 0 THEN format('%s mart rows do not show %s', m.wrong, n.name)
            WHEN h.category_name IS NULL THEN 'no hub in dds'
            WHEN lower(n.name) <> lower(h.category_name) THEN format('%s, the hub says %s', n.name, h.category_name)
            ELSE 'ok' END
FROM (SELECT c.category_id, count(*) FILTER (WHERE c.category_name IS DISTINCT FROM n.name) AS wrong
      FROM cdm.user_category_counters AS c
      LEFT JOIN cdm.srv_category_names AS n USING (category_id)
      GROUP BY c.category_id) AS m
LEFT JOIN cdm.srv_category_names AS n USING (category_id)
LEFT JOIN dds.h_category AS h ON h.h_category_pk = m.category_id
