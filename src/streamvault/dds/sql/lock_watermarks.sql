-- Serialises replicas that touch the same keys (e.g. during a rebalance); keys in order, so no deadlock.
WITH placeholders AS (
    INSERT INTO dds.srv_sat_watermarks (sat, hk, effective_dt)
    SELECT %(sat)s, hk, '0001-01-01' FROM unnest(%(keys)s::uuid[]) AS k(hk) ORDER BY hk
    ON CONFLICT DO NOTHING
)
SELECT hk, effective_dt
FROM dds.srv_sat_watermarks
WHERE sat = %(sat)s AND hk = ANY(%(keys)s::uuid[])
ORDER BY hk
FOR UPDATE;
