-- For the gauge each idle round: the statistics' live-row count, read in constant time (count(*) would scan).
SELECT coalesce(n_live_tup, 0) FROM pg_stat_user_tables WHERE relid = 'stg.parked_orders'::regclass;
