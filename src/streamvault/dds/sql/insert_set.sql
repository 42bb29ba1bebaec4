-- Hubs and links are insert-only sets: a key seen before is left as it is.
-- {table}, {columns}, {key}: identifiers from streamvault.dds.model, composed with psycopg.sql.
INSERT INTO dds.{table} ({columns}, load_dt, load_src)
SELECT {columns}, now(), %(load_src)s
FROM {temp}
ORDER BY {key}
ON CONFLICT DO NOTHING;
