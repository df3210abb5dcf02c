using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using PolicyPoint.V1;

namespace Pdp.Client.Mcp;

/// <summary>Builds the MCP tool result a PEP returns instead of running a tool that was not allowed.</summary>
public static class PolicyPointDenial
{
    /// <summary>Key under the result's <c>_meta</c> carrying {decision_id, decision, reasons}.</summary>
    public const string MetaKey = "policypoint/decision";

    /// <summary>Text shown to the client, e.g. <c>PolicyPoint DENY (decision 01J...): no_grant: ...</c>.</summary>
    public static string Text(CheckResponse response, string toolName)
    {
        var verdict = response.Decision == Decision.RequireApproval ? "REQUIRE_APPROVAL" : "DENY";
        var id = string.IsNullOrEmpty(response.DecisionId) ? "no decision record" : $"decision {response.DecisionId}";
        return $"PolicyPoint {verdict} for tool '{toolName}' ({id}): {PdpReasons.Describe(response)}";
    }

    /// <summary>
    /// A <see cref="CallToolResult"/> with <c>isError: true</c>, one text block with the reasons, and
    /// <c>_meta["policypoint/decision"]</c> = {decision_id, decision, reasons:[{code,message,rule}]}.
    /// </summary>
    public static CallToolResult ToCallToolResult(CheckResponse response, string toolName) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = Text(response, toolName) }],
        Meta = new JsonObject { [MetaKey] = Meta(response) },
    };

    /// <summary>The <c>_meta</c> payload describing a decision.</summary>
    public static JsonObject Meta(CheckResponse response)
    {
        var reasons = new JsonArray();
        foreach (var r in response.Reasons)
            reasons.Add(new JsonObject { ["code"] = r.Code, ["message"] = r.Message, ["rule"] = r.Rule });
        return new JsonObject
        {
            ["decision_id"] = response.DecisionId,
            ["decision"] = response.Decision switch
            {
                Decision.Allow => "ALLOW",
                Decision.RequireApproval => "REQUIRE_APPROVAL",
                _ => "DENY",
            },
            ["reasons"] = reasons,
        };
    }
}
