-- The last verify, for `streamvault status`.
INSERT INTO cdm.srv_last_verify (finished_at, consistent, drift, in_flight, report)
VALUES (%(finished_at)s, %(consistent)s, %(drift)s, %(in_flight)s, %(report)s)
ON CONFLICT (single) DO UPDATE
SET finished_at = excluded.finished_at, consistent = excluded.consistent, drift = excluded.drift,
    in_flight = excluded.in_flight, report = excluded.report;
