-- One check's result from its subject rows (key, verdict): NULL = not compared, 'ok', 'in flight' (between two
-- layers at the snapshot and not yet passed by the services), 'arrived' (in flight at the snapshot, passed
-- since), or what differs. Examples: the first differing keys. The subject is one of the check_*.sql files.
SELECT count(*) FILTER (WHERE verdict <> 'in flight') AS compared,
       count(*) FILTER (WHERE verdict NOT IN ('ok', 'in flight', 'arrived')) AS differing,
       count(*) FILTER (WHERE verdict IN ('in flight', 'arrived')) AS in_flight,
       count(*) FILTER (WHERE verdict = 'in flight') AS undecided,
       coalesce((array_agg(key || ': ' || verdict ORDER BY key)
                 FILTER (WHERE verdict NOT IN ('ok', 'in flight', 'arrived')))[1:{examples}], '{{}}') AS examples
FROM ({subject}) AS subject (key, verdict);
