#!/usr/bin/env bash
# First start of PostgreSQL: one database and role for the audit store, one for the
# schema registry. psql reads the passwords from the secret files itself (\set with a
# backtick command), so they appear neither in the compose file nor on a command line.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<'SQL'
\set audit_pw `cat /run/secrets/audit-db-password`
\set registry_pw `cat /run/secrets/registry-db-password`
CREATE ROLE hub_audit LOGIN PASSWORD :'audit_pw';
CREATE DATABASE audit OWNER hub_audit;
CREATE ROLE registry LOGIN PASSWORD :'registry_pw';
CREATE DATABASE registry OWNER registry;
SQL
