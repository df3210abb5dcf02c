using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Feeds built-ins every combination of sample operands (one call per combination, arity-wide).</summary>
internal static class BuiltinRobustness
{
    /// <summary>
    /// Asserts that each built-in in <paramref name="names"/> either returns (a value or undefined) or raises a
    /// <see cref="BuiltinException"/> with an OPA code whose message names it; any other exception fails. Also asserts
    /// that the samples exercised both paths (some calls erred, some did not).
    /// </summary>
    public static void AssertEveryCombinationReturnsOrRaises(IEnumerable<string> names, Value[] samples, Func<BuiltinContext> context)
    {
        int calls = 0, errors = 0;
        foreach (var name in names)
        {
            Assert.That(BuiltinRegistry.TryGet(name, out var def), Is.True, name);
            var args = new Value[def.Arity];
            var idx = new int[def.Arity];
            while (true)
            {
                for (int i = 0; i < args.Length; i++) args[i] = samples[idx[i]];
                try { def.Function(context(), args); }
                catch (BuiltinException e)
                {
                    errors++;
                    Assert.That(e.Code, Is.AnyOf("eval_type_error", "eval_builtin_error"), $"{name}: {e.Message}");
                    Assert.That(e.Message, Does.StartWith(name + ":"), $"error of {name} names it: {e.Message}");
                }
                catch (Exception e)
                {
                    Assert.Fail($"{name}({string.Join(", ", args.Select(a => a.ToString()))}) threw {e.GetType().Name}: {e.Message}");
                }
                calls++;
                int k = args.Length - 1;
                while (k >= 0 && ++idx[k] == samples.Length) idx[k--] = 0;
                if (k < 0) break;
            }
        }
        Assert.That(errors, Is.GreaterThan(0).And.LessThan(calls));
    }
}
