#!/usr/bin/env bash
# PolicyPoint roles and database, run once by the postgres image on an empty data directory (as superuser).
# Passwords come from the pgpass-format secret files (host:port:database:user:password, 5th field).
# The migrations (run by `pdp migrate` as pdp_owner) create the tables and grant the group roles their rights;
# the group roles are created here first because pdp_owner may not create roles.
set -euo pipefail

password_of() { cut -d: -f5- < "/run/secrets/$1" | head -n1; }
owner_pw="$(password_of pdp_owner_pgpass)"
app_pw="$(password_of pdp_app_pgpass)"
analyst_pw="$(password_of compliance_analyst_pgpass)"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$owner_pw" -v app_pw="$app_pw" -v analyst_pw="$analyst_pw" <<'SQL'
CREATE ROLE pdp_writer NOLOGIN;
CREATE ROLE compliance_reader NOLOGIN;
CREATE ROLE pdp_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE pdp_app LOGIN PASSWORD :'app_pw' IN ROLE pdp_writer;
CREATE ROLE compliance_analyst LOGIN PASSWORD :'analyst_pw' IN ROLE compliance_reader;
CREATE DATABASE policypoint OWNER pdp_owner;
REVOKE ALL ON DATABASE policypoint FROM PUBLIC;
GRANT CONNECT ON DATABASE policypoint TO pdp_writer, compliance_reader;
SQL
