-- Every CDM batch holds this lock shared for its transaction; `rebuild cdm` holds it exclusively, so a batch
-- never interleaves with a rebuild: it applies its versions before the rebuild reads, or after it commits.
SELECT pg_advisory_xact_lock_shared(%(lock)s);
