-- Waits for the CDM batches in progress and holds back new ones until the rebuild commits (marts_lock.sql).
SELECT pg_advisory_xact_lock(%(lock)s);
