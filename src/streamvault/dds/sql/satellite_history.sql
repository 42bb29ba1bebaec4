-- Keys as text: the loader's hash keys are canonical UUID text (streamvault.hashing.HashKey).
SELECT {key}::text, effective_dt, {hashdiff}::text, {attributes}
FROM dds.{table}
WHERE {key} = ANY(%(keys)s::uuid[]);
