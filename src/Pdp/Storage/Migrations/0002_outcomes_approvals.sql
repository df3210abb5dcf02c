-- What happened after a decision (reported by the PEP) and who approved what. Append-only like decisions.

CREATE TABLE IF NOT EXISTS outcomes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id  text        NOT NULL,
    status       text        NOT NULL,   -- e.g. succeeded, failed, not_executed
    detail       text,
    reported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outcomes_decision_id_idx ON outcomes (decision_id);

CREATE TABLE IF NOT EXISTS approvals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id  text        NOT NULL,
    approver     text        NOT NULL,
    approved     boolean     NOT NULL,
    comment      text,
    decided_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS approvals_decision_id_idx ON approvals (decision_id);
