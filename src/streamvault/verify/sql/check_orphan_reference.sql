-- One Data Vault reference (migration 0006 keeps them unenforced): every row of the table points at a hub row.
SELECT format('%s.%s %s', {table_name}, {column_name}, t.{column}),
       CASE WHEN h.{column} IS NULL THEN format('points at no %s', {hub_name}) ELSE 'ok' END
FROM dds.{table} AS t
LEFT JOIN dds.{hub} AS h USING ({column})
