-- The dashboard logs in with the PG_WAREHOUSE_* login when DASHBOARD_PG_USER is unset, and every
-- connection runs `SET ROLE streamvault_dashboard`, which a login that is not a superuser may only do as
-- a member of the role: grant it to the login that migrates (the warehouse's owner). A login that may not
-- grant it (no CREATEROLE on PostgreSQL 15; no ADMIN OPTION on the role from 16 on) is not stopped here:
-- a deployment may give the dashboard a login of its own; if not, the dashboard's /ready answers 503 naming
-- the GRANT an administrator runs (docs/dashboard.md).
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        GRANT streamvault_dashboard TO CURRENT_USER;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'streamvault_dashboard is not granted to %: the dashboard needs its own login or that grant',
        current_user;
END
$$;
