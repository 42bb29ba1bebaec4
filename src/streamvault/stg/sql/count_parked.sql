SELECT count(*) FROM stg.parked_orders;
