SELECT format('order %s', order_id), current_rows FROM verify_orders
