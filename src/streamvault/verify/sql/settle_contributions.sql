-- In a new snapshot, once every service has passed what was in flight at the first one: an order whose dds
-- version the CDM service has still not taken in never will be. The others have arrived since.
UPDATE verify_contributions AS v
SET verdict = CASE WHEN EXISTS (SELECT FROM cdm.srv_order_contributions AS c
                                WHERE c.order_id = v.order_pk
                                  AND (c.version_ts, c.version_sent) >= (v.version_ts, v.version_sent))
                   THEN 'arrived' ELSE format('version %s / %s never reached cdm', v.version_ts, v.version_sent) END
WHERE v.verdict = 'in flight';
