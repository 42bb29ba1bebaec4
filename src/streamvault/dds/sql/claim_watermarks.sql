-- Keys shared across partitions (users' names, dishes, restaurants) are serialised between replicas by
-- locking one row per key; this makes sure the row exists. Keys in order, so replicas never deadlock.
INSERT INTO dds.srv_sat_watermarks (sat, hk, effective_dt)
SELECT %(sat)s, hk, '0001-01-01' FROM unnest(%(keys)s::uuid[]) AS k(hk) ORDER BY hk
ON CONFLICT DO NOTHING;
