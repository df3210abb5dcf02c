using System.Text.Json;
using System.Text.Json.Nodes;
using Pdp.DecisionLog;
using Pdp.Policy;

namespace Pdp.Service;

/// <summary>What a decision object means for the caller, before it gets an id and a record.</summary>
/// <param name="Decision"><c>allow</c>, <c>deny</c> or <c>require_approval</c>.</param>
/// <param name="Reasons">Reasons to return and log; never empty for a deny.</param>
/// <param name="ExceptionPath">The exception or override that allowed it, or null.</param>
/// <param name="Obligations">Obligations object, or null.</param>
/// <param name="Labels">Labels the policy attached (strings).</param>
public sealed record DecisionOutcome(
    string Decision, IReadOnlyList<ReasonRecord> Reasons, string? ExceptionPath, JsonObject? Obligations, IReadOnlyList<string> Labels);

/// <summary>
/// Maps the entrypoint's value to a decision, failing closed: only a decision object whose <c>allow</c> is exactly
/// <c>true</c> allows; an undefined result is DENY <c>policy_undefined</c>; an evaluation error or a malformed
/// decision object is DENY <c>policy_error</c>.
/// Expected shape: <c>{allow: bool, require_approval: bool, reasons: [{code, message, rule}], exception: string,
/// obligations: object, labels: [string]}</c>; every field is optional.
/// </summary>
public static class DecisionMapper
{
    /// <summary>Maps one evaluation. Never throws.</summary>
    public static DecisionOutcome Map(PolicyEvaluation evaluation)
    {
        if (evaluation.Error is not null)
            return Deny("policy_error", $"policy evaluation failed: {evaluation.Error}");
        if (!evaluation.Defined)
            return Deny("policy_undefined", "the decision entrypoint is undefined for this input");
        if (evaluation.Result is not JsonObject obj)
            return Deny("policy_error", $"the decision must be an object, got {Kind(evaluation.Result)}");

        var allowNode = obj["allow"];
        var approvalNode = obj["require_approval"];
        if (allowNode is not null && !IsBool(allowNode))
            return Deny("policy_error", $"decision.allow must be a boolean, got {Kind(allowNode)}");
        if (approvalNode is not null && !IsBool(approvalNode))
            return Deny("policy_error", $"decision.require_approval must be a boolean, got {Kind(approvalNode)}");
        var allow = allowNode is not null && allowNode.GetValue<bool>();
        var approval = approvalNode is not null && approvalNode.GetValue<bool>();

        var reasons = new List<ReasonRecord>();
        switch (obj["reasons"])
        {
            case null: break;
            case JsonArray arr:
                foreach (var item in arr)
                    if (ToReason(item) is { } reason) reasons.Add(reason);
                    else return Deny("policy_error", $"decision.reasons items must be objects with a string code, got {Kind(item)}");
                break;
            default:
                return Deny("policy_error", $"decision.reasons must be an array, got {Kind(obj["reasons"])}");
        }

        var exception = obj["exception"] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>() is { Length: > 0 } s ? s : null,
            JsonObject e => Str(e["path"]) ?? Str(e["id"]) ?? JsonUtil.Canonical(e),
            var other => JsonUtil.Canonical(other),
        };

        JsonObject? obligations = null;
        switch (obj["obligations"])
        {
            case null: break;
            case JsonObject o: obligations = (JsonObject)o.DeepClone(); break;
            default: return Deny("policy_error", $"decision.obligations must be an object, got {Kind(obj["obligations"])}");
        }

        var labels = new List<string>();
        if (obj["labels"] is JsonArray labelArray)
            foreach (var l in labelArray)
                if (Str(l) is { } label) labels.Add(label);

        // Both flags set: ask for approval rather than allow outright, the more cautious reading of the policy.
        string decision = approval ? "require_approval" : allow ? "allow" : "deny";
        if (decision == "deny" && reasons.Count == 0)
            reasons.Add(new ReasonRecord("default_deny", "no rule allowed this call"));
        if (decision == "require_approval" && reasons.Count == 0)
            reasons.Add(new ReasonRecord("approval_required", "the policy requires approval for this call"));
        return new DecisionOutcome(decision, reasons, decision == "deny" ? null : exception, obligations, labels);
    }

    /// <summary>A deny with one reason.</summary>
    public static DecisionOutcome Deny(string code, string message) =>
        new("deny", [new ReasonRecord(code, message)], null, null, []);

    private static ReasonRecord? ToReason(JsonNode? node)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            return new ReasonRecord(v.GetValue<string>(), v.GetValue<string>());
        if (node is not JsonObject o || Str(o["code"]) is not { } code) return null;
        return new ReasonRecord(code, Str(o["message"]) ?? "", Str(o["rule"]));
    }

    private static bool IsBool(JsonNode n) => n is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False;

    private static string? Str(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string Kind(JsonNode? n) => n switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind().ToString().ToLowerInvariant(),
        _ => "unknown",
    };
}
