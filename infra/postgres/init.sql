-- cp247: run once by the postgres image on an empty data directory
-- (mounted at /docker-entrypoint-initdb.d), as POSTGRES_USER in database cp247.
-- Each cp247 service keeps its event store in its own schema of database cp247.
-- Only schemas are created here; the tables are created by eventsourcing itself.
CREATE SCHEMA IF NOT EXISTS intake AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS preservation AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS isp_liaison AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS mla AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS notification AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS timeline AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS gateway AUTHORIZATION CURRENT_USER;
