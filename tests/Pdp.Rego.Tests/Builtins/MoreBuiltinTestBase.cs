using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Calls the "more" built-ins (regex, glob, time, net, encodings, ...) through the registry with
/// JSON-written operands, so each test reads like the Rego call it stands for.</summary>
public abstract class MoreBuiltinTestBase
{
    /// <summary>The fixed clock of the test evaluation: 2020-04-02T18:33:41.593912Z.</summary>
    protected static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1585852421593);

    /// <summary>A fresh per-evaluation context.</summary>
    protected static BuiltinContext NewContext() => new(EvalOptions.Default, Now, CancellationToken.None);

    /// <summary>Calls <paramref name="name"/> with JSON operands in <paramref name="ctx"/> (a new one when null);
    /// null means undefined.</summary>
    protected static Value? CallIn(BuiltinContext? ctx, string name, params string[] jsonArgs)
    {
        Assert.That(BuiltinRegistry.TryGet(name, out var def), Is.True, $"built-in {name} is registered");
        Assert.That(def.Arity, Is.EqualTo(jsonArgs.Length), $"arity of {name}");
        return def.Function(ctx ?? NewContext(), jsonArgs.Select(Value.FromJson).ToArray());
    }

    /// <summary>Calls with JSON operands in a fresh context.</summary>
    protected static Value? Call(string name, params string[] jsonArgs) => CallIn(null, name, jsonArgs);

    /// <summary>The result's canonical JSON (sets as sorted arrays); "undefined" when there is none.</summary>
    protected static string Json(string name, params string[] jsonArgs) => Call(name, jsonArgs)?.ToJson() ?? "undefined";

    /// <summary>The error a call raises.</summary>
    protected static BuiltinException Fails(string name, params string[] jsonArgs)
        => Assert.Throws<BuiltinException>(() => Call(name, jsonArgs))!;

    /// <summary>A JSON string literal for <paramref name="s"/>.</summary>
    protected static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s, QuoteOptions);

    private static readonly System.Text.Json.JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
