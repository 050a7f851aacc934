-- cp247 PostgreSQL set-up: one schema per service, each owned by a login role of its own
-- that can reach no other service's schema, the shared table of case keys, and a read-only
-- role for backups.
--
-- Run it with psql (15 or later) as a superuser in the cp247 database: the postgres image
-- does so from /docker-entrypoint-initdb.d on an empty data directory; by hand:
--   psql -v ON_ERROR_STOP=1 -d cp247 -f infra/postgres/init.sql
-- It can be run again (after an upgrade, or to move a deployment that ran with one superuser
-- URL onto the roles): it creates what is missing, sets the passwords it is given, and hands
-- the tables already in a service's schema to that service's role.
--
-- Settings, as psql variables (-v name=value) or environment variables of psql:
--   role_prefix        CP247_DB_ROLE_PREFIX          roles are <prefix><service> and
--                                                    <prefix>backup (default cp247_)
--   password_<name>    CP247_DB_PASSWORD_<NAME>      password of that role, e.g.
--                                                    CP247_DB_PASSWORD_ISP_LIAISON
-- <name> is intake, preservation, isp_liaison, mla, notification, timeline, gateway or backup.
-- A role whose password is not given gets none: it can log in only where pg_hba.conf trusts
-- it, until ALTER ROLE ... PASSWORD gives it one.
--
-- Each service then connects as its own role: CP247_DATABASE_URL of the intake process is
-- postgresql://cp247_intake:<password>@<host>:5432/cp247, and so on. Commands of the cp247
-- CLI that read several services at once (audit verify, retention apply, keys rewrap) run
-- with the URL of the database owner, as do migrations. Restoring a backup brings back case
-- keys destroyed since it was taken: run `cp247 retention apply` again after a restore.
\set ON_ERROR_STOP on

\getenv role_prefix CP247_DB_ROLE_PREFIX
\if :{?role_prefix}
\else
\set role_prefix cp247_
\endif
\getenv password_intake CP247_DB_PASSWORD_INTAKE
\if :{?password_intake}
\else
\set password_intake ''
\endif
\getenv password_preservation CP247_DB_PASSWORD_PRESERVATION
\if :{?password_preservation}
\else
\set password_preservation ''
\endif
\getenv password_isp_liaison CP247_DB_PASSWORD_ISP_LIAISON
\if :{?password_isp_liaison}
\else
\set password_isp_liaison ''
\endif
\getenv password_mla CP247_DB_PASSWORD_MLA
\if :{?password_mla}
\else
\set password_mla ''
\endif
\getenv password_notification CP247_DB_PASSWORD_NOTIFICATION
\if :{?password_notification}
\else
\set password_notification ''
\endif
\getenv password_timeline CP247_DB_PASSWORD_TIMELINE
\if :{?password_timeline}
\else
\set password_timeline ''
\endif
\getenv password_gateway CP247_DB_PASSWORD_GATEWAY
\if :{?password_gateway}
\else
\set password_gateway ''
\endif
\getenv password_backup CP247_DB_PASSWORD_BACKUP
\if :{?password_backup}
\else
\set password_backup ''
\endif

BEGIN;

-- The roles this script manages (schema = service name, as POSTGRES_SCHEMA in cp247/config.py).
CREATE TEMPORARY TABLE cp247_roles (service text PRIMARY KEY, role text NOT NULL, password text)
    ON COMMIT DROP;
INSERT INTO cp247_roles VALUES
    ('intake', :'role_prefix' || 'intake', :'password_intake'),
    ('preservation', :'role_prefix' || 'preservation', :'password_preservation'),
    ('isp_liaison', :'role_prefix' || 'isp_liaison', :'password_isp_liaison'),
    ('mla', :'role_prefix' || 'mla', :'password_mla'),
    ('notification', :'role_prefix' || 'notification', :'password_notification'),
    ('timeline', :'role_prefix' || 'timeline', :'password_timeline'),
    ('gateway', :'role_prefix' || 'gateway', :'password_gateway'),
    ('backup', :'role_prefix' || 'backup', :'password_backup');
-- A role named like a schema finds that schema first on its search_path ("$user", public):
-- the unqualified cp247_case_keys of cp247/casekeys.py must resolve to public's.
DO $$
BEGIN
    IF EXISTS (SELECT FROM cp247_roles r JOIN cp247_roles s ON r.role = s.service) THEN
        RAISE EXCEPTION 'cp247 roles must not be named like a schema: set role_prefix';
    END IF;
END
$$;

-- Nothing is open to PUBLIC: only the roles below connect; no one else creates in public.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- One login role per service and one for backups: no superuser, no databases, no roles.
SELECT format(
    'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', role
) FROM cp247_roles WHERE role NOT IN (SELECT rolname FROM pg_roles) \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', role, password)
    FROM cp247_roles WHERE password <> '' \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role)
    FROM cp247_roles \gexec

-- Each service's schema belongs to its role, which creates its event store tables in it
-- (eventsourcing does so at start) and can reach nothing in the other schemas.
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, role)
    FROM cp247_roles WHERE service <> 'backup' \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', service, role)
    FROM cp247_roles WHERE service <> 'backup' \gexec
SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', service)
    FROM cp247_roles WHERE service <> 'backup' \gexec
-- What an earlier start made as another user (tables with their sequences and indexes,
-- composite types, functions) goes to the service's role.
SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, r.role)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN cp247_roles r ON r.service = n.nspname
    WHERE c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> r.role \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, c.relname, r.role)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN cp247_roles r ON r.service = n.nspname
    WHERE c.relkind = 'c' AND pg_get_userbyid(c.relowner) <> r.role \gexec
SELECT format(
    'ALTER ROUTINE %I.%I(%s) OWNER TO %I',
    n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), r.role
) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN cp247_roles r ON r.service = n.nspname
    WHERE pg_get_userbyid(p.proowner) <> r.role \gexec

-- The per-case keys every service shares (cp247/casekeys.py): read, made and destroyed by
-- every service, never deleted (destroying a key is an UPDATE that keeps the row).
CREATE TABLE IF NOT EXISTS public.cp247_case_keys (
    case_id TEXT PRIMARY KEY,
    wrapped TEXT,
    created_at TEXT NOT NULL,
    destroyed_at TEXT,
    destroyed_because TEXT
);
SELECT format('GRANT SELECT, INSERT, UPDATE ON public.cp247_case_keys TO %I', role)
    FROM cp247_roles WHERE service <> 'backup' \gexec

-- Backups read everything and change nothing, now and in tables the services make later.
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', role)
    FROM cp247_roles WHERE service = 'backup' \gexec
SELECT format('GRANT SELECT ON public.cp247_case_keys TO %I', role)
    FROM cp247_roles WHERE service = 'backup' \gexec
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', s.service, b.role)
    FROM cp247_roles s, cp247_roles b
    WHERE s.service <> 'backup' AND b.service = 'backup' \gexec
SELECT format('GRANT SELECT ON ALL %s IN SCHEMA %I TO %I', kind, s.service, b.role)
    FROM cp247_roles s, cp247_roles b, (VALUES ('TABLES'), ('SEQUENCES')) AS k(kind)
    WHERE s.service <> 'backup' AND b.service = 'backup' \gexec
SELECT format(
    'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON %s TO %I',
    s.role, s.service, kind, b.role
) FROM cp247_roles s, cp247_roles b, (VALUES ('TABLES'), ('SEQUENCES')) AS k(kind)
    WHERE s.service <> 'backup' AND b.service = 'backup' \gexec

COMMIT;
