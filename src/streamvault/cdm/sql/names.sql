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
-- The batch's keys go as an array (`= ANY (ARRAY(…))`) wherever a table that grows is read: the planner
-- cannot count a temp table's rows and would scan the whole table instead (menus grow all the time).
INSERT INTO {renamed}
SELECT t.{key}, t.name
FROM {batch} AS t
JOIN (SELECT {key}, name, effective_dt FROM {names}
      WHERE {key} = ANY (ARRAY(SELECT {key} FROM {batch}))
      ORDER BY {key}
      FOR UPDATE) AS n USING ({key})
WHERE (t.effective_dt, t.name) > (n.effective_dt, n.name) AND t.name <> n.name;

UPDATE {names} AS n
SET name = t.name, effective_dt = t.effective_dt
FROM {batch} AS t
WHERE n.{key} = ANY (ARRAY(SELECT {key} FROM {batch})) AND n.{key} = t.{key}
  AND (t.effective_dt, t.name) > (n.effective_dt, n.name);

-- Counter rows (one per user and item, the largest tables of the marts) only for a batch that renamed
-- something: with few items (categories) the planner rightly scans for a rename, but must not for none.
UPDATE {counters} AS c
SET {name} = r.name
FROM {renamed} AS r
WHERE EXISTS (SELECT FROM {renamed})
  AND c.{key} = ANY (ARRAY(SELECT {key} FROM {renamed})) AND c.{key} = r.{key} AND c.{name} <> r.name;

-- A batch may carry an older name than the one known: counter rows it creates take the known one.
UPDATE {batch} AS t
SET name = n.name
FROM {names} AS n
WHERE n.{key} = ANY (ARRAY(SELECT {key} FROM {batch})) AND n.{key} = t.{key} AND t.name <> n.name;
