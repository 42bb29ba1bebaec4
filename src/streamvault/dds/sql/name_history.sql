-- A name's rows from the last one before the batch's earliest version of it on: a version is compared
-- with the row before it and with the newest (transform.new_satellite_rows), never further back. A popular
-- user renamed every few minutes is in every batch: read whole, the history cost more each hour.
-- Keys as text: the loader's hash keys are canonical UUID text (streamvault.hashing.HashKey).
-- {never}: names have no sent time; the loader's NEVER stands in its place.
SELECT k.hk::text, r.*
FROM unnest(%(keys)s::uuid[], %(since)s::timestamp[]) AS k (hk, since)
CROSS JOIN LATERAL (
    (SELECT effective_dt, {never}, {hashdiff}::text, {attributes}
     FROM dds.{table}
     WHERE {key} = k.hk AND effective_dt < k.since
     ORDER BY effective_dt DESC
     LIMIT 1)
    UNION ALL
    SELECT effective_dt, {never}, {hashdiff}::text, {attributes}
    FROM dds.{table}
    WHERE {key} = k.hk AND effective_dt >= k.since
) AS r;
