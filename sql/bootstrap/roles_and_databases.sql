-- Roles and databases of one Revenue OS Postgres cluster, run as the superuser by psql.
-- Used by both runtimes: the local stack (`revenue-os demo`) and the compose postgres init.
-- Passwords are read from the environment (psql 15's \getenv), so that no secret lives in this
-- file or on a command line: WAREHOUSE_PASSWORD, MART_READER_PASSWORD, AIRFLOW_DB_PASSWORD,
-- SUPERSET_DB_PASSWORD must be set, e.g. `psql -v ON_ERROR_STOP=1 -f roles_and_databases.sql`.
-- Idempotent: roles and databases are created when missing; passwords are (re)set every time
-- so that a rotated secret takes effect on the next run.
--
--   revenue_os   owns the warehouse; Airflow loads and transforms with it
--   mart_reader  Superset's warehouse login: reads the published mart schema and nothing else
--   airflow      owns the Airflow metadata database
--   superset     owns the Superset metadata database

\set ON_ERROR_STOP on

\getenv warehouse_password WAREHOUSE_PASSWORD
\getenv mart_reader_password MART_READER_PASSWORD
\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\getenv superset_db_password SUPERSET_DB_PASSWORD
-- A missing variable would leave the literal name in place; fail instead, naming it.
SELECT CASE WHEN :{?warehouse_password} AND :{?mart_reader_password}
             AND :{?airflow_db_password} AND :{?superset_db_password}
       THEN 'ok' END AS passwords_present \gset
\if :{?passwords_present}
\else
  \echo 'set WAREHOUSE_PASSWORD, MART_READER_PASSWORD, AIRFLOW_DB_PASSWORD and SUPERSET_DB_PASSWORD in the environment'
  \quit 3
\endif

SELECT format('CREATE ROLE %I LOGIN', role_name)
FROM (VALUES ('revenue_os'), ('mart_reader'), ('airflow'), ('superset')) AS wanted(role_name)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name)
\gexec

ALTER ROLE revenue_os  LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'warehouse_password';
ALTER ROLE mart_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'mart_reader_password';
ALTER ROLE airflow     LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_db_password';
ALTER ROLE superset    LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'superset_db_password';

SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', db, owner, 'UTF8')
FROM (VALUES ('warehouse', 'revenue_os'), ('airflow', 'airflow'), ('superset', 'superset'))
     AS wanted(db, owner)
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = db)
\gexec

-- Each database is reachable only by its own roles: no role can wander into another's data.
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE superset FROM PUBLIC;
GRANT CONNECT ON DATABASE warehouse TO revenue_os, mart_reader;
GRANT CONNECT ON DATABASE airflow TO airflow;
GRANT CONNECT ON DATABASE superset TO superset;

-- Inside the warehouse nobody but the owner may create objects in public; the warehouse
-- schemas (raw, staging, mart, ops) are created by the migrations, run as revenue_os, which
-- also grant mart_reader read access to the published mart only.
\connect warehouse
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO revenue_os;
