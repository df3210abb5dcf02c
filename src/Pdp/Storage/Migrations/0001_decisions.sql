-- Decision log base tables: decisions (partitioned by month), decision_ids (idempotency and chain index).
-- Every statement is idempotent so a half-applied script can be re-run.

CREATE TABLE IF NOT EXISTS decisions (
    decision_id            text        NOT NULL,
    decided_at             timestamptz NOT NULL,
    request_id             text,
    spiffe_id              text,
    issuer                 text,
    subject                text,
    workload_attributes    jsonb,
    server                 text,
    tool                   text        NOT NULL,
    annotations            jsonb,
    resource_type          text,
    resource_id            text,
    resource_sensitivity   text,
    context                jsonb,
    credential_id          text,
    credential_kind        text,
    credential_issued_at   timestamptz,
    credential_expires_at  timestamptz,
    session_id             text,
    parent_decision_id     text,
    on_behalf_of_subject   text,
    decision               text        NOT NULL,
    reasons                jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- [{code, message, rule}]
    exception_path         text,
    obligations            jsonb,
    policy_revision        text        NOT NULL,
    input_hash             text        NOT NULL,
    masked_input           jsonb,
    eval_micros            bigint      NOT NULL,
    labels                 text[]      NOT NULL DEFAULT '{}',
    -- hash chain, one per writer: record_hash = SHA-256(prev_hash || canonical record)
    writer_id              text        NOT NULL,
    seq                    bigint      NOT NULL,
    prev_hash              text        NOT NULL,
    record_hash            text        NOT NULL,
    logged_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT decisions_decision_chk CHECK (decision IN ('allow', 'deny', 'require_approval', 'invalid')),
    CONSTRAINT decisions_reasons_chk CHECK (jsonb_typeof(reasons) = 'array'),
    CONSTRAINT decisions_hash_chk CHECK (prev_hash ~ '^[0-9a-f]{64}$' AND record_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT decisions_seq_chk CHECK (seq >= 1)
) PARTITION BY RANGE (decided_at);

-- Rows whose month has no partition land here, so an insert never fails for lack of a partition.
CREATE TABLE IF NOT EXISTS decisions_default PARTITION OF decisions DEFAULT;

CREATE INDEX IF NOT EXISTS decisions_decision_id_idx ON decisions (decision_id);
CREATE INDEX IF NOT EXISTS decisions_request_id_idx ON decisions (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS decisions_session_idx ON decisions (session_id, decided_at) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS decisions_writer_seq_idx ON decisions (writer_id, seq);

-- A unique key on a partitioned table must contain the partition key, so decision_id idempotency and
-- (writer_id, seq) uniqueness live in this small unpartitioned table, inserted in the same transaction.
CREATE TABLE IF NOT EXISTS decision_ids (
    decision_id  text        PRIMARY KEY,
    decided_at   timestamptz NOT NULL,
    writer_id    text        NOT NULL,
    seq          bigint      NOT NULL,
    record_hash  text        NOT NULL,
    CONSTRAINT decision_ids_writer_seq_key UNIQUE (writer_id, seq)
);

-- Creates the monthly partitions of decisions for the month of p_at and the next one, if missing.
-- SECURITY DEFINER so pdp_writer (no CREATE right) can call it at start-up and when a new month begins.
-- A month whose rows already sit in the default partition is skipped (attaching would fail); they stay there.
CREATE OR REPLACE FUNCTION ensure_decision_partitions(p_at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    m        timestamptz;
    lo       timestamptz;
    hi       timestamptz;
    part     text;
    created  integer := 0;
BEGIN
    FOR i IN 0..1 LOOP
        lo := date_trunc('month', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => i);
        hi := lo + interval '1 month';
        part := 'decisions_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF decisions FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
                created := created + 1;
            EXCEPTION
                WHEN duplicate_table THEN NULL;           -- another session created it first
                WHEN check_violation THEN                 -- rows of that month already in decisions_default
                    RAISE NOTICE 'partition % skipped: rows for that month are in decisions_default', part;
            END;
        END IF;
    END LOOP;
    RETURN created;
END
$fn$;
