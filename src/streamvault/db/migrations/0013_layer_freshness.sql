-- Freshness (docs/performance.md): the newest source publish time each layer has committed, one row per
-- service instance, written in the batch's own transaction; `streamvault status` and the dashboard's
-- "data as of" read it. A row per instance: replicas never wait for each other's row lock.
CREATE TABLE stg.srv_freshness (
    instance            text        PRIMARY KEY,
    source_published_at timestamptz NOT NULL,
    committed_at        timestamptz NOT NULL
);
CREATE TABLE dds.srv_freshness (LIKE stg.srv_freshness INCLUDING ALL);
CREATE TABLE cdm.srv_freshness (LIKE stg.srv_freshness INCLUDING ALL);

-- The marts' "data as of" for the dashboard role, which reads cdm views only.
CREATE VIEW cdm.v_data_as_of AS
SELECT max(source_published_at) AS source_published_at FROM cdm.srv_freshness;
COMMENT ON VIEW cdm.v_data_as_of IS 'The newest source publish time the marts include';
GRANT SELECT ON cdm.v_data_as_of TO streamvault_dashboard;
