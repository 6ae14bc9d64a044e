-- The four schemas of the warehouse, each with one job:
--   raw      vendor records as extracted (typed keys + the whole record as JSONB)
--   staging  typed, renamed, deduplicated, converted to the reporting currency
--   mart     the published, governed models that dashboards read
--   ops      the platform's own records: migrations, refresh runs, quality results
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS ops;

-- Superset's login (mart_reader, created by sql/bootstrap) reads the published mart only:
-- no raw records, no staging, no e-mail addresses.
REVOKE ALL ON SCHEMA raw, staging, mart, ops FROM PUBLIC;
GRANT USAGE ON SCHEMA mart TO mart_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO mart_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO mart_reader;
