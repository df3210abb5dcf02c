-- Example compliance queries (run as a member of compliance_reader; they read only schema compliance).

-- 1. Which workload identities called which MCP servers and tools in the last 30 days, and how often were they denied?
SELECT workload, server, tool, decisions, denied, approval_required, first_seen, last_seen
FROM compliance.workload_tool_usage
WHERE last_seen > now() - interval '30 days'
ORDER BY decisions DESC
LIMIT 50;

-- 2. Top deny reasons this week, with the rule that produced them.
SELECT reason_code, rule, sum(decisions) AS decisions, sum(workloads) AS workload_days
FROM compliance.denials_by_reason
WHERE day >= date_trunc('week', now()) AND decision = 'deny'
GROUP BY reason_code, rule
ORDER BY decisions DESC;

-- 3. Tool calls made with long-lived credentials (candidates for JIT), and which policy revisions were in force.
SELECT c.workload, c.server, c.tool, c.decisions, c.distinct_credentials, c.last_seen,
       (SELECT string_agg(p.policy_revision, ', ' ORDER BY p.first_decision_at)
          FROM compliance.policy_revisions p
         WHERE p.last_decision_at >= c.first_seen AND p.first_decision_at <= c.last_seen) AS revisions_in_force
FROM compliance.credential_usage c
WHERE c.credential_kind = 'long_lived'
ORDER BY c.decisions DESC;
