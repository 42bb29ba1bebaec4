-- The newest source publish time of the batch, in the batch's transaction (runtime/freshness.py).
INSERT INTO {table} AS f (instance, source_published_at, committed_at)
VALUES (%(instance)s, to_timestamp(%(newest_ms)s / 1000.0), clock_timestamp())
ON CONFLICT (instance) DO UPDATE
SET source_published_at = greatest(f.source_published_at, excluded.source_published_at),
    committed_at = excluded.committed_at
