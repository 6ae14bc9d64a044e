-- Each warehouse login gets the share its job needs, so a task that is compromised cannot
-- drop or rewrite what it does not own (the roles are created by sql/bootstrap):
--
--   revenue_os          owns the database, raw and ops; only migrations log in with it
--   revenue_os_loader   extract and load, and the operations tasks: reads and writes raw
--                       records and the ops ledgers, reads the published mart; owns nothing
--   revenue_os_builder  the mart build: reads raw, writes the ops ledgers, and owns staging
--                       and the mart schemas, because publishing renames them
--   mart_reader         Superset: reads the published mart (granted at every publish)
--
-- No role but the owner may truncate, alter or drop a raw or ops table, or write the
-- migration ledger.

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO revenue_os_loader',
                   current_database());
    -- CREATE: a build opens its schema (mart_build), and publishing renames schemas.
    EXECUTE format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO revenue_os_builder',
                   current_database());
END
$$;

GRANT USAGE ON SCHEMA raw, ops TO revenue_os_loader, revenue_os_builder;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA raw TO revenue_os_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO revenue_os_builder;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ops
    TO revenue_os_loader, revenue_os_builder;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA raw, ops TO revenue_os_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ops TO revenue_os_builder;

-- Tables later migrations add get the same share.
ALTER DEFAULT PRIVILEGES FOR ROLE revenue_os IN SCHEMA raw
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO revenue_os_loader;
ALTER DEFAULT PRIVILEGES FOR ROLE revenue_os IN SCHEMA raw
    GRANT SELECT ON TABLES TO revenue_os_builder;
ALTER DEFAULT PRIVILEGES FOR ROLE revenue_os IN SCHEMA ops
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO revenue_os_loader, revenue_os_builder;
ALTER DEFAULT PRIVILEGES FOR ROLE revenue_os IN SCHEMA raw, ops
    GRANT USAGE, SELECT ON SEQUENCES TO revenue_os_loader;
ALTER DEFAULT PRIVILEGES FOR ROLE revenue_os IN SCHEMA ops
    GRANT USAGE, SELECT ON SEQUENCES TO revenue_os_builder;

-- The migration ledger is history: readable (a run records the schema version), never written.
REVOKE INSERT, UPDATE, DELETE ON ops.schema_migrations FROM revenue_os_loader, revenue_os_builder;

-- The build schemas and everything in them change hands to the builder. The published mart
-- is renamed at every publish, so its reader grants are made there (transform/build.py).
DO $$
DECLARE
    relation record;
BEGIN
    -- Schemas first: a table's new owner must be allowed to create in its schema.
    FOR relation IN
        SELECT nspname AS name, 'n' AS relkind FROM pg_namespace
        WHERE nspname IN ('staging', 'mart', 'mart_build', 'mart_previous')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO revenue_os_builder', relation.name);
    END LOOP;
    FOR relation IN
        SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('staging', 'mart', 'mart_build', 'mart_previous')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    LOOP
        EXECUTE format(
            'ALTER %s %s OWNER TO revenue_os_builder',
            CASE relation.relkind
                WHEN 'v' THEN 'VIEW'
                WHEN 'm' THEN 'MATERIALIZED VIEW'
                WHEN 'f' THEN 'FOREIGN TABLE'
                ELSE 'TABLE'
            END,
            relation.name
        );
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA mart TO revenue_os_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO revenue_os_loader;
