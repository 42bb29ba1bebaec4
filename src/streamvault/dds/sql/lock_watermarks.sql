SELECT hk::text, effective_dt, sent_dttm
FROM dds.srv_sat_watermarks
WHERE sat = %(sat)s AND hk = ANY(%(keys)s::uuid[])
ORDER BY hk
FOR UPDATE;
