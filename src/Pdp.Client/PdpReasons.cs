using PolicyPoint.V1;

namespace Pdp.Client;

/// <summary>Reason codes produced on the PEP side, and helpers to build fail-closed answers.</summary>
public static class PdpReasons
{
    /// <summary>No answer came from the PDP (down, deadline exceeded, circuit open).</summary>
    public const string PdpUnavailable = "pdp_unavailable";

    /// <summary>The PDP answered with a gRPC error other than UNAVAILABLE (e.g. INVALID_ARGUMENT).</summary>
    public const string PdpError = "pdp_error";

    /// <summary>The PDP answered DECISION_UNSPECIFIED, which a PEP must treat as DENY.</summary>
    public const string UnspecifiedDecision = "unspecified_decision";

    /// <summary>A DENY built locally, with no decision record (decision_id empty).</summary>
    public static CheckResponse LocalDeny(string code, string message) => new()
    {
        Decision = Decision.Deny,
        Reasons = { new Reason { Code = code, Message = message, Rule = "pep.fail_closed" } },
    };

    /// <summary>Human-readable one-liner of a response's reasons, e.g. <c>no_grant: no grant for ...; ...</c>.</summary>
    public static string Describe(CheckResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var parts = response.Reasons.Select(r => string.IsNullOrEmpty(r.Message) ? r.Code : $"{r.Code}: {r.Message}").ToList();
        return parts.Count == 0 ? "(no reason given)" : string.Join("; ", parts);
    }
}
