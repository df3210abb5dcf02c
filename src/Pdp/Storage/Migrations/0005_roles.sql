-- Append-only enforcement, layer 2: privileges. Group roles (NOLOGIN) are cluster-wide, created if missing;
-- grant them to login roles, e.g. `GRANT pdp_writer TO pdp_service;`.

DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pdp_writer') THEN
        CREATE ROLE pdp_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'compliance_reader') THEN
        CREATE ROLE compliance_reader NOLOGIN;
    END IF;
END
$do$;

REVOKE ALL ON decisions, decisions_default, decision_ids, outcomes, approvals FROM PUBLIC;
REVOKE ALL ON decisions, decisions_default, decision_ids, outcomes, approvals FROM pdp_writer, compliance_reader;
REVOKE ALL ON FUNCTION ensure_decision_partitions(timestamptz) FROM PUBLIC;

-- pdp_writer: insert, and select for idempotency checks, chain recovery and session history. No UPDATE/DELETE/TRUNCATE.
GRANT USAGE ON SCHEMA public TO pdp_writer;
GRANT SELECT, INSERT ON decisions, decision_ids, outcomes, approvals TO pdp_writer;
GRANT EXECUTE ON FUNCTION ensure_decision_partitions(timestamptz) TO pdp_writer;

-- compliance_reader: the compliance views only.
GRANT USAGE ON SCHEMA compliance TO compliance_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA compliance TO compliance_reader;
REVOKE ALL ON SCHEMA compliance FROM PUBLIC;
