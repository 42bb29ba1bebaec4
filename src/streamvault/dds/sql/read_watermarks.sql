-- Keys on one partition (orders) have one writer: no lock, and a row only where it says more than
-- the satellite itself (a newer version that added no row).
SELECT hk::text, effective_dt, sent_dttm
FROM dds.srv_sat_watermarks
WHERE sat = %(sat)s AND hk = ANY(%(keys)s::uuid[]);
