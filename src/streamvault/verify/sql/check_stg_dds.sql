SELECT format('order %s', order_id), stg_dds FROM verify_orders
