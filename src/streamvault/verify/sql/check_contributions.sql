SELECT format('order %s', coalesce(order_id::text, order_pk::text)), verdict FROM verify_contributions
