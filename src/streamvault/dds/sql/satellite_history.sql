-- The rows of each key a batch needs to place its versions: the last one before the batch's earliest version
-- of that key, and every one from there on (transform.new_satellite_rows looks no further back). Older rows
-- are history the batch cannot change, and reading them made every batch slower as the history grew (a user
-- renamed once a minute has 1,440 versions a day). Each part is a range of the satellite's primary key.
-- Keys as text: the loader's hash keys are canonical UUID text (streamvault.hashing.HashKey).
-- {sent}: the satellite's sent_dttm column, or the constant NEVER where it has none.
-- {version}, {since}, {newest_first}: a row's version, the batch's earliest, and the order from the newest,
-- as (effective_dt, sent_dttm) where the satellite has a sent time, else effective_dt alone.
SELECT b.hk::text, s.*
FROM unnest(%(keys)s::uuid[], %(since)s::timestamp[], %(since_sent)s::timestamp[]) AS b(hk, since, since_sent)
CROSS JOIN LATERAL (
    (SELECT effective_dt, {sent}, {hashdiff}::text, {attributes}
     FROM dds.{table}
     WHERE {key} = b.hk AND {version} < {since}
     ORDER BY {newest_first}
     LIMIT 1)
    UNION ALL
    SELECT effective_dt, {sent}, {hashdiff}::text, {attributes}
    FROM dds.{table}
    WHERE {key} = b.hk AND {version} >= {since}
) AS s;
