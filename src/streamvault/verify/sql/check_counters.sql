-- A mart against the recomputation: per (user, item), the orders verify_contributions says must count.
-- The mart, its item columns and hub are composed in by streamvault.verify.checks.
SELECT format('user %s / %s %s', coalesce(u.user_id, coalesce(a.user_id, w.user_id)::text), {label},
              coalesce(i.{hub_key}::text, coalesce(a.{key}, w.item_id)::text)),
       CASE WHEN a.order_cnt IS NULL THEN format('no row, %s orders recomputed', w.order_cnt)
            WHEN w.order_cnt IS NULL THEN format('%s orders, none recomputed', a.order_cnt)
            WHEN a.order_cnt <> w.order_cnt THEN format('%s orders, %s recomputed', a.order_cnt, w.order_cnt)
            ELSE 'ok' END
FROM (SELECT user_id, item_id, count(*) AS order_cnt
      FROM verify_contributions, unnest({items}) AS item_id
      WHERE counted AND user_id IS NOT NULL
      GROUP BY user_id, item_id) AS w
FULL JOIN {counters} AS a ON a.user_id = w.user_id AND a.{key} = w.item_id
LEFT JOIN dds.h_user AS u ON u.h_user_pk = coalesce(a.user_id, w.user_id)
LEFT JOIN {hub} AS i ON i.{hub_pk} = coalesce(a.{key}, w.item_id)
