-- Schema compliance: the views analysts query. Views run with their owner's rights (security_invoker off,
-- the default), so compliance_reader needs no grant on the base tables.

CREATE SCHEMA IF NOT EXISTS compliance;

-- Every decision of a session in order, with its parent decision and the outcomes reported for it.
CREATE OR REPLACE VIEW compliance.decision_chain AS
SELECT d.session_id,
       row_number() OVER (PARTITION BY d.session_id ORDER BY d.decided_at, d.decision_id) AS step,
       d.decision_id,
       d.parent_decision_id,
       p.tool        AS parent_tool,
       p.decision    AS parent_decision,
       d.decided_at,
       d.spiffe_id,
       d.subject,
       d.on_behalf_of_subject,
       d.server,
       d.tool,
       d.resource_type,
       d.resource_id,
       d.decision,
       d.reasons,
       d.exception_path,
       d.labels,
       d.policy_revision,
       o.outcomes
FROM decisions d
LEFT JOIN LATERAL (
    SELECT pd.tool, pd.decision FROM decisions pd WHERE pd.decision_id = d.parent_decision_id LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('status', oc.status, 'detail', oc.detail, 'reported_at', oc.reported_at)
                     ORDER BY oc.reported_at) AS outcomes
    FROM outcomes oc WHERE oc.decision_id = d.decision_id
) o ON true
WHERE d.session_id IS NOT NULL;

-- Denials (and approval requirements) per reason code, per day.
CREATE OR REPLACE VIEW compliance.denials_by_reason AS
SELECT date_trunc('day', d.decided_at) AS day,
       d.decision,
       r.reason ->> 'code'             AS reason_code,
       r.reason ->> 'rule'             AS rule,
       d.server,
       d.tool,
       count(*)                        AS decisions,
       count(DISTINCT d.spiffe_id)     AS workloads,
       min(d.decided_at)               AS first_seen,
       max(d.decided_at)               AS last_seen
FROM decisions d
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_array_length(d.reasons) = 0 THEN '[{"code": null}]'::jsonb ELSE d.reasons END
) AS r(reason)
WHERE d.decision IN ('deny', 'require_approval', 'invalid')
GROUP BY 1, 2, 3, 4, 5, 6;

-- Decisions that went through an exception path or needed approval, with every approval given.
CREATE OR REPLACE VIEW compliance.exceptions_and_approvals AS
SELECT d.decision_id,
       d.decided_at,
       d.session_id,
       d.spiffe_id,
       d.subject,
       d.server,
       d.tool,
       d.decision,
       d.exception_path,
       d.reasons,
       a.approver,
       a.approved,
       a.comment        AS approval_comment,
       a.decided_at     AS approval_decided_at
FROM decisions d
LEFT JOIN approvals a ON a.decision_id = d.decision_id
WHERE d.exception_path IS NOT NULL
   OR d.decision = 'require_approval'
   OR a.decision_id IS NOT NULL;

-- Which workload identities call which MCP servers and tools.
CREATE OR REPLACE VIEW compliance.workload_tool_usage AS
SELECT coalesce(d.spiffe_id, d.issuer || '#' || d.subject) AS workload,
       d.spiffe_id,
       d.server,
       d.tool,
       count(*)                                          AS decisions,
       count(*) FILTER (WHERE d.decision = 'allow')      AS allowed,
       count(*) FILTER (WHERE d.decision = 'deny')       AS denied,
       count(*) FILTER (WHERE d.decision = 'require_approval') AS approval_required,
       min(d.decided_at)                                 AS first_seen,
       max(d.decided_at)                                 AS last_seen
FROM decisions d
GROUP BY 1, 2, 3, 4;

-- JIT versus long-lived credential use per workload and tool.
CREATE OR REPLACE VIEW compliance.credential_usage AS
SELECT coalesce(d.spiffe_id, d.issuer || '#' || d.subject) AS workload,
       d.server,
       d.tool,
       coalesce(d.credential_kind, 'unspecified')        AS credential_kind,
       count(*)                                          AS decisions,
       count(DISTINCT d.credential_id)                   AS distinct_credentials,
       count(*) FILTER (WHERE d.credential_expires_at IS NOT NULL AND d.credential_expires_at < d.decided_at)
                                                         AS used_after_expiry,
       avg(extract(epoch FROM (d.credential_expires_at - d.credential_issued_at)))
                                                         AS avg_lifetime_seconds,
       min(d.decided_at)                                 AS first_seen,
       max(d.decided_at)                                 AS last_seen
FROM decisions d
GROUP BY 1, 2, 3, 4;

-- Policy revisions in force over time: first and last decision made under each revision.
CREATE OR REPLACE VIEW compliance.policy_revisions AS
SELECT d.policy_revision,
       min(d.decided_at)                      AS first_decision_at,
       max(d.decided_at)                      AS last_decision_at,
       count(*)                               AS decisions,
       count(DISTINCT d.writer_id)            AS writers,
       count(*) FILTER (WHERE d.decision <> 'allow') AS not_allowed
FROM decisions d
GROUP BY d.policy_revision;
