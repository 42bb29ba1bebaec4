-- An order hub row is written with its user link and both order satellites, in one transaction.
SELECT format('order %s', o.order_id),
       CASE WHEN u.h_order_pk IS NULL THEN 'no link to a user'
            WHEN s.h_order_pk IS NULL THEN 'no s_order_status row'
            WHEN c.h_order_pk IS NULL THEN 'no s_order_cost row'
            ELSE 'ok' END
FROM dds.h_order AS o
LEFT JOIN (SELECT DISTINCT h_order_pk FROM dds.l_order_user) AS u USING (h_order_pk)
LEFT JOIN (SELECT DISTINCT h_order_pk FROM dds.s_order_status) AS s USING (h_order_pk)
LEFT JOIN (SELECT DISTINCT h_order_pk FROM dds.s_order_cost) AS c USING (h_order_pk)
