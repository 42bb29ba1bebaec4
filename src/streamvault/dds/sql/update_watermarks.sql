UPDATE dds.srv_sat_watermarks AS w
SET effective_dt = v.effective_dt
FROM unnest(%(keys)s::uuid[], %(times)s::timestamp[]) AS v(hk, effective_dt)
WHERE w.sat = %(sat)s AND w.hk = v.hk AND v.effective_dt > w.effective_dt;
