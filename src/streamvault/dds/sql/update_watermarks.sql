INSERT INTO dds.srv_sat_watermarks AS w (sat, hk, effective_dt)
SELECT %(sat)s, hk, effective_dt
FROM unnest(%(keys)s::uuid[], %(times)s::timestamp[]) AS v(hk, effective_dt)
ORDER BY hk
ON CONFLICT (sat, hk) DO UPDATE SET effective_dt = greatest(w.effective_dt, excluded.effective_dt);
