-- A batch's rows of one table, one array per column (streamvault.db.arrays.unnest). Hubs and links
-- are insert-only sets and a satellite row is keyed by its version: a row already there stays as it is.
-- {table}, {columns}, {key}: identifiers from streamvault.dds.model, composed with psycopg.sql.
INSERT INTO dds.{table} ({columns}, load_dt, load_src)
SELECT {columns}, now(), %(load_src)s
FROM {rows} AS r ({columns})
ORDER BY {key}
ON CONFLICT DO NOTHING;
