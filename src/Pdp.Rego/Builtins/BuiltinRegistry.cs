using System.Collections.Frozen;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// A built-in function. Returns the result, or null for "undefined" (e.g. <c>object.get</c> never does, but a
/// relation such as <c>internal.member_2</c> returns <c>false</c> rather than null). Arguments are already
/// evaluated to ground values. Throws <see cref="BuiltinException"/> for bad operands.
/// </summary>
public delegate Value? BuiltinFunction(BuiltinContext context, ReadOnlySpan<Value> args);

/// <summary>Operand/result types for the compile-time type check of built-in calls with literal arguments.</summary>
[Flags]
public enum BuiltinType
{
    Null = 1, Boolean = 2, Number = 4, String = 8, Array = 16, Object = 32, Set = 64,
    Collection = Array | Object | Set,
    Any = Null | Boolean | Number | String | Array | Object | Set,
}

/// <summary>
/// A built-in's declaration: name as called in Rego (<c>object.get</c>), arity (number of operands, not counting
/// the output), the function, and optionally operand types (length = arity) used by the compiler's type check.
/// <paramref name="Nondeterministic"/> marks built-ins like <c>time.now_ns</c> (never cached across evaluations).
/// </summary>
public sealed record BuiltinDefinition(string Name, int Arity, BuiltinFunction Function, BuiltinType[]? OperandTypes = null, bool Nondeterministic = false);

/// <summary>
/// What a built-in may use of its evaluation: options (strict errors, print sink), the evaluation's fixed clock,
/// cancellation, and a per-evaluation cache (e.g. compiled regexes or glob patterns). One per evaluation; not
/// shared between threads.
/// </summary>
public sealed class BuiltinContext
{
    /// <summary>Creates a context for one evaluation.</summary>
    public BuiltinContext(EvalOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Options = options;
        Now = now;
        CancellationToken = cancellationToken;
    }

    public EvalOptions Options { get; private set; }
    /// <summary>The evaluation's clock, fixed at its start (<c>time.now_ns</c>).</summary>
    public DateTimeOffset Now { get; private set; }
    public CancellationToken CancellationToken { get; private set; }
    /// <summary>Per-evaluation scratch space for built-ins (keys should be prefixed with the built-in's name).</summary>
    public Dictionary<object, object> Cache => _cache ??= new();
    private Dictionary<object, object>? _cache;

    /// <summary>Readies the context for the next evaluation on the same thread (the evaluator reuses it): nothing
    /// cached by the previous one survives.</summary>
    internal void Reset(EvalOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Options = options;
        Now = now;
        CancellationToken = cancellationToken;
        _cache?.Clear();
    }
}

/// <summary>
/// A built-in rejected its operands or failed. <see cref="Code"/> is <c>eval_type_error</c> (an operand of the wrong
/// type; message like OPA's <c>count: operand 1 must be one of {array, object, set, string} but got number</c>) or
/// <c>eval_builtin_error</c> (e.g. <c>div: divide by zero</c>). The evaluator turns it into an undefined expression
/// unless strict built-in errors are on.
/// </summary>
public sealed class BuiltinException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;

    /// <summary>OPA's operand type error: <c>NAME: operand N must be WANT but got TYPE</c>.</summary>
    public static BuiltinException OperandType(string builtin, int operand, string want, Value got)
        => new("eval_type_error", $"{builtin}: operand {operand} must be {want} but got {got.TypeName}");

    /// <summary>An <c>eval_builtin_error</c> with OPA's <c>NAME: message</c> form.</summary>
    public static BuiltinException Error(string builtin, string message) => new("eval_builtin_error", $"{builtin}: {message}");
}

/// <summary>
/// Every built-in the engine knows, by name. Each category lives in its own file (Strings.cs, Regex.cs, ...) with a
/// <c>Register(BuiltinRegistry.Builder)</c> method, listed once in <see cref="Create"/>: adding a built-in is a
/// one-line registration plus its function.
/// </summary>
public static class BuiltinRegistry
{
    private static readonly FrozenDictionary<string, BuiltinDefinition> All = Create();

    /// <summary>The built-in called <paramref name="name"/>.</summary>
    public static bool TryGet(string name, out BuiltinDefinition definition) => All.TryGetValue(name, out definition!);

    /// <summary>All built-ins, by name.</summary>
    public static IReadOnlyDictionary<string, BuiltinDefinition> Definitions => All;

    private static FrozenDictionary<string, BuiltinDefinition> Create()
    {
        var b = new Builder();
        // Categories register here, one line each.
        foreach (var register in Categories) register(b);
        return b.Definitions.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The category registration functions (each category file adds itself here). A property, not a field:
    /// <see cref="All"/> is initialized first and would see a null field.</summary>
    private static Action<Builder>[] Categories =>
    [
        RegexBuiltins.Register, GlobBuiltins.Register, TimeBuiltins.Register, NetBuiltins.Register, EncodingBuiltins.Register,
        JsonBuiltins.Register, UuidBuiltins.Register, SemverBuiltins.Register, GraphBuiltins.Register, CryptoBuiltins.Register, RandBuiltins.Register, JsonSchemaBuiltins.Register,
        Comparison.Register, Arithmetic.Register, Aggregates.Register, Arrays.Register, Sets.Register, Types.Register,
        Casts.Register, Membership.Register, Strings.Register, Sprintf.Register, Objects.Register, Bits.Register, Units.Register,
    ];

    /// <summary>Collects definitions; a duplicate name is a programming error.</summary>
    public sealed class Builder
    {
        internal Dictionary<string, BuiltinDefinition> Definitions { get; } = new(StringComparer.Ordinal);

        /// <summary>Registers a built-in.</summary>
        public Builder Add(string name, int arity, BuiltinFunction function, BuiltinType[]? operandTypes = null, bool nondeterministic = false)
        {
            Definitions.Add(name, new BuiltinDefinition(name, arity, function, operandTypes, nondeterministic));
            return this;
        }
    }
}
