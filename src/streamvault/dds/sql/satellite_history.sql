-- Keys as text: the loader's hash keys are canonical UUID text (streamvault.hashing.HashKey).
-- {sent}: the satellite's sent_dttm column, or the constant NEVER where it has none.
SELECT {key}::text, effective_dt, {sent}, {hashdiff}::text, {attributes}
FROM dds.{table}
WHERE {key} = ANY(%(keys)s::uuid[]);
