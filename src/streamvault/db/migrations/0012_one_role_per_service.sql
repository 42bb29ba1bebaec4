-- Least privilege in the warehouse (docs/security.md): one role per service, which its login is a member of.
-- Each may read and write its own layer only: streamvault_stg the schema stg, streamvault_dds dds,
-- streamvault_cdm cdm; none may create or drop anything (that is the owner's, who runs the migrations).
-- Tables a later migration adds get the same rights (default privileges of the migrating login).
-- Roles are cluster-wide: another database may have created them already, or be creating them right now; on
-- managed clouds that forbid CREATE ROLE, create them in the console first and this block only finds them.
DO $$
DECLARE
    layer text;
BEGIN
    FOREACH layer IN ARRAY ARRAY['stg', 'dds', 'cdm'] LOOP
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamvault_' || layer) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', 'streamvault_' || layer);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', layer, 'streamvault_' || layer);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                       layer, 'streamvault_' || layer);
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', layer, 'streamvault_' || layer);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                       layer, 'streamvault_' || layer);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
                       layer, 'streamvault_' || layer);
    END LOOP;
END
$$;
