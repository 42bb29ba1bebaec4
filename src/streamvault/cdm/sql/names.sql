-- Newest known names of one mart's items, dishes or categories (docs/spec.md §2.3: the latest effective time wins;
-- of two names at one time, the greater). streamvault.cdm.service composes in the item's tables and
-- columns (psycopg.sql). The batch has one row per item. New items get their first name.
INSERT INTO {names} ({key}, name, effective_dt)
SELECT {key}, name, effective_dt
FROM {batch}
ORDER BY {key}
ON CONFLICT DO NOTHING;

-- Known items: lock their rows (in key order: replicas never deadlock), then note the real renames,
-- so that counter rows are touched only for those: an item's counter rows are one per user who ever
-- ordered it, and visiting them for every item of every batch would cost more as history grows.
INSERT INTO {renamed}
SELECT t.{key}, t.name
FROM {batch} AS t
JOIN (SELECT {key}, name, effective_dt FROM {names}
      WHERE {key} IN (SELECT {key} FROM {batch})
      ORDER BY {key}
      FOR UPDATE) AS n USING ({key})
WHERE (t.effective_dt, t.name) > (n.effective_dt, n.name) AND t.name <> n.name;

UPDATE {names} AS n
SET name = t.name, effective_dt = t.effective_dt
FROM {batch} AS t
WHERE n.{key} = t.{key} AND (t.effective_dt, t.name) > (n.effective_dt, n.name);

-- The keys as an array too: the planner does not know how few rows the temp table holds and would scan
-- the whole counters table (one row per user and item, the largest table of the marts) for any rename.
UPDATE {counters} AS c
SET {name} = r.name
FROM {renamed} AS r
WHERE c.{key} = ANY (ARRAY(SELECT {key} FROM {renamed})) AND c.{key} = r.{key} AND c.{name} <> r.name;

-- A batch may carry an older name than the one known: counter rows it creates take the known one.
UPDATE {batch} AS t
SET name = n.name
FROM {names} AS n
WHERE n.{key} = t.{key} AND t.name <> n.name;
