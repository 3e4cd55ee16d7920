#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
# the two roles of README "Database roles and backups". center_owner owns the tables and
# runs the migrations; center_app is the portal's role, bound by row-level security.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE center_owner LOGIN PASSWORD '${CENTER_OWNER_PASSWORD}';
CREATE ROLE center_app LOGIN PASSWORD '${CENTER_APP_PASSWORD}' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE center OWNER center_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname center <<SQL
ALTER SCHEMA public OWNER TO center_owner;
GRANT USAGE ON SCHEMA public TO center_app;
ALTER DEFAULT PRIVILEGES FOR ROLE center_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO center_app;
ALTER DEFAULT PRIVILEGES FOR ROLE center_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO center_app;
SQL
