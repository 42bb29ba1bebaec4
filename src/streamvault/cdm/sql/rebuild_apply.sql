-- One table to its planned content: rows not planned go, changed rows change in place (their ids stay),
-- new rows are inserted. The table, its planned temp table, key and columns are composed in by
-- streamvault.cdm.rebuild.
DELETE FROM {table} AS cur
WHERE NOT EXISTS (SELECT FROM {planned} AS nxt WHERE {key_match});

MERGE INTO {table} AS cur
USING {planned} AS nxt
ON {key_match}
WHEN MATCHED AND ({old_values}) IS DISTINCT FROM ({new_values}) THEN UPDATE SET {set_values}
WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({new_columns});
