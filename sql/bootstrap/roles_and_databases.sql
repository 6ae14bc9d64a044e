-- Roles and databases of one Revenue OS Postgres cluster, run as the superuser by psql.
-- Used by both runtimes: the local stack (`revenue-os demo`) and the compose postgres init.
-- Passwords are read from the environment (psql 15's \getenv), so that no secret lives in this
-- file or on a command line: WAREHOUSE_PASSWORD, WAREHOUSE_LOADER_PASSWORD,
-- WAREHOUSE_BUILDER_PASSWORD, MART_READER_PASSWORD, AIRFLOW_DB_PASSWORD, SUPERSET_DB_PASSWORD
-- must be set, e.g. `psql -v ON_ERROR_STOP=1 -f roles_and_databases.sql`.
-- Idempotent: roles and databases are created when missing; passwords are (re)set every time
-- so that a rotated secret takes effect on the next run.
--
--   revenue_os          owns the warehouse, raw and ops; only migrations log in with it
--   revenue_os_loader   writes raw vendor records and the ops ledgers; owns nothing
--   revenue_os_builder  reads raw, owns and rebuilds staging and the mart schemas, writes ops
--   mart_reader         Superset's warehouse login: reads the published mart and nothing else
--   airflow      owns the Airflow metadata database
--   superset     owns the Superset metadata database

\set ON_ERROR_STOP on

\getenv warehouse_password WAREHOUSE_PASSWORD
\getenv loader_password WAREHOUSE_LOADER_PASSWORD
\getenv builder_password WAREHOUSE_BUILDER_PASSWORD
\getenv mart_reader_password MART_READER_PASSWORD
\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\getenv superset_db_password SUPERSET_DB_PASSWORD
-- A missing variable would leave the literal name in place; fail instead, naming it.
SELECT CASE WHEN :{?warehouse_password} AND :{?loader_password} AND :{?builder_password}
             AND :{?mart_reader_password}
             AND :{?airflow_db_password} AND :{?superset_db_password}
       THEN 'ok' END AS passwords_present \gset
\if :{?passwords_present}
\else
  \echo 'set WAREHOUSE_PASSWORD, WAREHOUSE_LOADER_PASSWORD, WAREHOUSE_BUILDER_PASSWORD, MART_READER_PASSWORD, AIRFLOW_DB_PASSWORD and SUPERSET_DB_PASSWORD in the environment'
  \quit 3
\endif

SELECT format('CREATE ROLE %I LOGIN', role_name)
FROM (VALUES ('revenue_os'), ('revenue_os_loader'), ('revenue_os_builder'), ('mart_reader'),
             ('airflow'), ('superset')) AS wanted(role_name)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name)
\gexec

ALTER ROLE revenue_os         LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'warehouse_password';
ALTER ROLE revenue_os_loader  LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'loader_password';
ALTER ROLE revenue_os_builder LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'builder_password';
ALTER ROLE mart_reader        LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'mart_reader_password';
ALTER ROLE airflow            LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_db_password';
ALTER ROLE superset           LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'superset_db_password';

-- The migrations (run as revenue_os) hand the build schemas to the builder; changing an
-- owner needs membership of the new owner. The builder gets nothing of revenue_os.
GRANT revenue_os_builder TO revenue_os;

-- Every dashboard query runs as mart_reader: no query may hold the warehouse for long, spill
-- without bound, or sit in an open transaction; and the role never writes.
-- temp_file_limit is a superuser setting, so the reader cannot lift it; the others it could
-- only change with SET, which a dashboard's SELECT cannot issue (set_config is revoked below).
ALTER ROLE mart_reader CONNECTION LIMIT 20;
ALTER ROLE mart_reader SET statement_timeout = '30s';
ALTER ROLE mart_reader SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE mart_reader SET work_mem = '32MB';
ALTER ROLE mart_reader SET temp_file_limit = '1GB';
ALTER ROLE mart_reader SET default_transaction_read_only = on;

SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', db, owner, 'UTF8')
FROM (VALUES ('warehouse', 'revenue_os'), ('airflow', 'airflow'), ('superset', 'superset'))
     AS wanted(db, owner)
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = db)
\gexec

-- Each database is reachable only by its own roles: no role can wander into another's data.
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE superset FROM PUBLIC;
-- The maintenance database and the templates are for the superuser: by default every role may
-- connect to them and create TEMP tables there.
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;
GRANT CONNECT ON DATABASE warehouse TO revenue_os, revenue_os_loader, revenue_os_builder, mart_reader;
GRANT CONNECT ON DATABASE airflow TO airflow;
GRANT CONNECT ON DATABASE superset TO superset;

-- Inside the warehouse nobody but the owner may create objects in public; the warehouse
-- schemas (raw, staging, mart, ops) are created by the migrations, run as revenue_os, which
-- also grant each role its share (sql/migrations/0013_least_privilege_roles.sql).
\connect warehouse
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO revenue_os;

-- Functions every role may call by default that a dashboard query must not: run a query given
-- as text (around Superset's sub-query guard), lift the session's limits, hold a lock across
-- queries, write large objects, or sleep. Revoked from PUBLIC in the warehouse only; the
-- platform's own roles keep what they use (advisory locks serialise migrations and snapshots).
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::regprocedure)
FROM pg_proc AS p
WHERE p.pronamespace = 'pg_catalog'::regnamespace
  AND (p.proname IN ('query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema',
                     'cursor_to_xml', 'cursor_to_xmlschema', 'table_to_xml',
                     'table_to_xmlschema', 'table_to_xml_and_xmlschema', 'schema_to_xml',
                     'schema_to_xmlschema', 'schema_to_xml_and_xmlschema', 'database_to_xml',
                     'database_to_xmlschema', 'database_to_xml_and_xmlschema', 'set_config',
                     'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'dblink')
       OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%'
       OR p.proname LIKE 'lo\_%' OR p.proname IN ('loread', 'lowrite'))
\gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO revenue_os, revenue_os_loader, revenue_os_builder',
              p.oid::regprocedure)
FROM pg_proc AS p
WHERE p.pronamespace = 'pg_catalog'::regnamespace
  AND (p.proname = 'set_config' OR p.proname LIKE 'pg\_advisory\_%'
       OR p.proname LIKE 'pg\_try\_advisory\_%')
\gexec
