-- A business key twice in a hub (the same once normalised: the hash key ignores case and outer spaces),
-- or an order linked to more than one user.
SELECT format('user %s', min(user_id)), CASE WHEN count(*) > 1 THEN format('%s hub rows', count(*)) ELSE 'ok' END
FROM dds.h_user GROUP BY lower(btrim(user_id))
UNION ALL
SELECT format('dish %s', min(product_id)), CASE WHEN count(*) > 1 THEN format('%s hub rows', count(*)) ELSE 'ok' END
FROM dds.h_product GROUP BY lower(btrim(product_id))
UNION ALL
SELECT format('restaurant %s', min(restaurant_id)),
       CASE WHEN count(*) > 1 THEN format('%s hub rows', count(*)) ELSE 'ok' END
FROM dds.h_restaurant GROUP BY lower(btrim(restaurant_id))
UNION ALL
SELECT format('category %s', min(category_name)),
       CASE WHEN count(*) > 1 THEN format('%s hub rows', count(*)) ELSE 'ok' END
FROM dds.h_category GROUP BY lower(btrim(category_name))
UNION ALL
SELECT format('order %s', order_id), CASE WHEN count(*) > 1 THEN format('%s hub rows', count(*)) ELSE 'ok' END
FROM dds.h_order GROUP BY order_id
UNION ALL
SELECT format('order %s', min(o.order_id)),
       CASE WHEN count(*) > 1 THEN format('linked to %s users', count(*)) ELSE 'ok' END
FROM dds.l_order_user AS l LEFT JOIN dds.h_order AS o USING (h_order_pk)
GROUP BY l.h_order_pk
