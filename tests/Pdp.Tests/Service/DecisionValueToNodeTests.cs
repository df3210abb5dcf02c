using System.Text.Json.Nodes;
using NUnit.Framework;
using Pdp.Policy;
using Pdp.Service;
using Pdp.Rego.Values;

namespace Pdp.Tests.Service;

/// <summary>
/// The decision value is turned into JSON nodes directly instead of through its JSON text; both roads must give the
/// same canonical JSON, which is what the decision record stores and hashes.
/// </summary>
public class DecisionValueToNodeTests
{
    private static string ViaText(Value v) => JsonUtil.Canonical(JsonNode.Parse(v.ToJson()));

    private static string Direct(Value v) => JsonUtil.Canonical(EmbeddedPolicyEngine.ToNode(v));

    [TestCase("""{"allow": true, "require_approval": false, "reasons": [], "exception": "", "obligations": {}, "labels": []}""")]
    [TestCase("""{"allow": false, "reasons": [{"code": "tool_denied", "message": "non-ASCII é \u2028 <tag> & \"quote\" \\", "rule": "r"}], "labels": ["pii", "write"]}""")]
    [TestCase("""{"obligations": {"approval": {"approver_group": "security-oncall", "n": 3, "ratio": 0.25, "big": 12345678901234567890}}, "x": null}""")]
    [TestCase("""[1, "a", [true, false, null], {}]""")]
    [TestCase("\"just a string\"")]
    public void JsonShapesGiveTheSameCanonicalText(string json)
    {
        var v = Value.FromJson(json);
        Assert.That(Direct(v), Is.EqualTo(ViaText(v)));
    }

    [Test]
    public void SetsAndNonStringKeysGiveTheSameCanonicalText()
    {
        var set = new SetValue.Builder();
        set.Add(Value.String("b"));
        set.Add(Value.String("a"));
        var v = ObjectValue.FromPairs(("labels", set.Build()),
            ("keyed", ObjectValue.FromPairs(new[] { KeyValuePair.Create<Value, Value>(Value.Number(1), Value.True) })));
        Assert.That(Direct(v), Is.EqualTo(ViaText(v)));
        Assert.That(Direct(v), Does.Contain("[\"a\",\"b\"]"));
    }

    [Test]
    public void NullAndBooleansMapToTheirJsonKinds()
    {
        Assert.That(EmbeddedPolicyEngine.ToNode(Value.Null), Is.Null);
        Assert.That(EmbeddedPolicyEngine.ToNode(Value.True)!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.True));
        var mapped = DecisionMapper.Map(new PolicyEvaluation(
            EmbeddedPolicyEngine.ToNode(Value.FromJson("""{"allow": true, "obligations": {"k": "v"}, "labels": ["l"]}""")), true, "r", null, 1));
        Assert.That(mapped.Decision, Is.EqualTo("allow"));
        Assert.That(mapped.Labels, Is.EqualTo(new[] { "l" }));
        Assert.That(JsonUtil.Canonical(mapped.Obligations), Is.EqualTo("""{"k":"v"}"""));
    }
}
