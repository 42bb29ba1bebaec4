-- A watermark only moves forward in the version order (update_ts, then sent_dttm).
INSERT INTO dds.srv_sat_watermarks AS w (sat, hk, effective_dt, sent_dttm)
SELECT %(sat)s, hk, effective_dt, sent_dttm
FROM unnest(%(keys)s::uuid[], %(times)s::timestamp[], %(sent)s::timestamp[]) AS v(hk, effective_dt, sent_dttm)
ORDER BY hk
ON CONFLICT (sat, hk) DO UPDATE SET effective_dt = excluded.effective_dt, sent_dttm = excluded.sent_dttm
WHERE (excluded.effective_dt, excluded.sent_dttm) > (w.effective_dt, w.sent_dttm);
