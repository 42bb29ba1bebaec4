-- Rows a table would gain, change and lose: the dry run's answer and the rebuild's summary.
-- The table, its planned temp table, key and compared values are composed in by streamvault.cdm.rebuild.
SELECT count(*) FILTER (WHERE cur.ctid IS NULL) AS inserted,
       count(*) FILTER (WHERE cur.ctid IS NOT NULL AND nxt.ctid IS NOT NULL
                        AND ({old_values}) IS DISTINCT FROM ({new_values})) AS updated,
       count(*) FILTER (WHERE nxt.ctid IS NULL) AS deleted
FROM {table} AS cur
FULL JOIN {planned} AS nxt USING ({keys});
