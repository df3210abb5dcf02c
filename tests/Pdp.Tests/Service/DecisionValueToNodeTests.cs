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
    [Test]
    public void InputRegoValueBuiltFromNodesEqualsParsingItsCanonicalText()
    {
        var request = CheckServiceTests.ValidRequest();
        var list = new Google.Protobuf.WellKnownTypes.ListValue();
        foreach (var d in new[] { 0.1, 1e300, -7.0, 9007199254740993d, 123456789.125 }) list.Values.Add(Google.Protobuf.WellKnownTypes.Value.ForNumber(d));
        list.Values.Add(Google.Protobuf.WellKnownTypes.Value.ForNull());
        list.Values.Add(Google.Protobuf.WellKnownTypes.Value.ForBool(false));
        request.Tool.Arguments = new Google.Protobuf.WellKnownTypes.Struct
        {
            Fields = { ["nums"] = Google.Protobuf.WellKnownTypes.Value.ForList(list.Values.ToArray()), ["z"] = Google.Protobuf.WellKnownTypes.Value.ForString("é\u2028"), ["a"] = Google.Protobuf.WellKnownTypes.Value.ForStruct(new Google.Protobuf.WellKnownTypes.Struct()) },
        };
        var input = InputBuilder.BuildInput(request, [], DateTimeOffset.UnixEpoch.AddTicks(123456789));
        var value = input.RegoValue;
        Assert.That(value, Is.EqualTo(Value.FromJson(input.Json)));
        Assert.That(value.ToJson(), Is.EqualTo(Value.FromJson(input.Json).ToJson()));
    }
}
