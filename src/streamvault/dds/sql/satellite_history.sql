SELECT {key}, effective_dt, {hashdiff}, {attributes}
FROM dds.{table}
WHERE {key} = ANY(%(keys)s::uuid[]);
