-- Every version of the batch's orders: an order has a handful, all within hours of its placing.
-- Keys as text: the loader's hash keys are canonical UUID text (streamvault.hashing.HashKey).
SELECT {key}::text, effective_dt, sent_dttm, {hashdiff}::text, {attributes}
FROM dds.{table}
WHERE {key} = ANY(%(keys)s::uuid[]);
