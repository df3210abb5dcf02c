using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Compilation;

// The compiled form of Rego that the evaluator runs. The compiler lowers the parser's AST into these nodes:
// variables become slot indices in a per-rule array, names are resolved to data/input refs, built-ins and
// functions are bound to their definitions, ground composites are folded to constants, and each body is already
// reordered for safety. All of it is immutable once compilation ends, so evaluations on many threads share it.

/// <summary>A compiled term.</summary>
internal abstract class T
{
    public required RegoLocation Loc { get; init; }
    /// <summary>True when the term contains no variable at all (it can still contain refs and calls).</summary>
    public bool NoVars { get; set; }
}

/// <summary>A ground value.</summary>
internal sealed class TConst : T { public required Value Value { get; init; } }

/// <summary>A variable: a slot of the enclosing rule's (or query's) frame.</summary>
internal sealed class TVar : T
{
    public required int Slot { get; init; }
    public required string Name { get; init; }
    /// <summary>Wildcard or compiler-generated: never reported in query bindings.</summary>
    public bool Generated { get; init; }
}

/// <summary>Root documents that a ref can start from.</summary>
internal enum RootKind { Data, Input }

/// <summary>A ref: Head (root, var or any term) followed by Path.</summary>
internal sealed class TRef : T
{
    /// <summary>Set when the ref starts at <c>data</c> or <c>input</c>; then <see cref="Head"/> is null.</summary>
    public RootKind? Root { get; init; }
    public T? Head { get; init; }
    public required T[] Path { get; init; }
    /// <summary>Evaluator cache for constant data refs: 0 unknown, 1 <see cref="TargetNode"/> is the rule node it names, 2 none.</summary>
    internal int TargetState;
    internal RuleNode? TargetNode;
    /// <summary>With <see cref="TargetState"/> 3: how many path segments lead to <see cref="TargetNode"/> (the rest index its value).</summary>
    internal int TargetLen;
    /// <summary>With <see cref="TargetState"/> 1 and a node without children: the node's rule id (its value in the
    /// evaluation's rule cache), else -1.</summary>
    internal int TargetRuleId = -1;
}

internal sealed class TArray : T { public required T[] Items { get; init; } }
internal sealed class TSet : T { public required T[] Items { get; init; } }
internal sealed class TObject : T { public required T[] Keys { get; init; } public required T[] Values { get; init; } }

/// <summary>A call of a built-in or of a user function.</summary>
internal sealed class TCall : T
{
    /// <summary>The name as written / resolved (<c>count</c>, <c>data.pkg.f</c>).</summary>
    public required string Name { get; init; }
    /// <summary>The built-in, when it is one (null for user functions and evaluator intrinsics).</summary>
    public BuiltinDefinition? Builtin { get; init; }
    /// <summary>The data path of a user function (e.g. [pkg, f]), or null.</summary>
    public Value[]? FunctionPath { get; init; }
    /// <summary>Evaluator intrinsic (print, walk, or an operator fallback).</summary>
    public Intrinsic Intrinsic { get; init; }
    public required T[] Args { get; init; }
    /// <summary>Evaluator cache of the function's rule node (resolved once, shared by all evaluations).</summary>
    internal RuleNode? FunctionNode;
    internal int FunctionState;
}

internal enum Intrinsic { None, Print, Walk, Equal, NotEqual, Lt, Lte, Gt, Gte, Member2, Member3, Unsupported, OpaRuntime }

internal enum ComprehensionKind { Array, Set, Object }

/// <summary>An array, set or object comprehension. <see cref="Body"/> is already ordered for safety.</summary>
internal sealed class TCompr : T
{
    public required ComprehensionKind Kind { get; init; }
    public required T Head { get; init; }
    /// <summary>The value term of an object comprehension.</summary>
    public T? Value { get; init; }
    public required X[] Body { get; set; }
    /// <summary>Slots of enclosing scopes that the comprehension reads (must be bound before it runs).</summary>
    public required int[] Outer { get; set; }
    /// <summary>Local slots (reset between runs).</summary>
    public required int[] Locals { get; set; }
}

/// <summary>What a <c>with</c> modifier replaces.</summary>
internal enum WithKind { Input, Data, Function, Builtin }

/// <summary>A compiled <c>with target as value</c>.</summary>
internal sealed class CWith
{
    public required WithKind Kind { get; init; }
    /// <summary>Path under input or data (empty = the whole document).</summary>
    public Value[] Path { get; init; } = [];
    /// <summary>Built-in name or function path string being replaced.</summary>
    public string? Name { get; init; }
    /// <summary>The replacement value term (evaluated before the expression), or null when <see cref="FunctionValuePath"/> is set.</summary>
    public T? Value { get; init; }
    /// <summary>A replacement that is itself a function (user function path) or built-in (name).</summary>
    public Value[]? FunctionValuePath { get; init; }
    public BuiltinDefinition? BuiltinValue { get; init; }
    public Intrinsic IntrinsicValue { get; init; }
    public required RegoLocation Loc { get; init; }
}

/// <summary>A compiled expression.</summary>
internal abstract class X
{
    public required RegoLocation Loc { get; init; }
    public bool Negated { get; init; }
    public CWith[] With { get; init; } = [];
    /// <summary>Position in the source body (query results list expressions in source order).</summary>
    public int SourceIndex { get; set; }
    public string Text { get; init; } = "";
    /// <summary>Slots the expression needs bound / binds (computed by the safety pass).</summary>
    public int[] Needs { get; set; } = [];
    public int[] Binds { get; set; } = [];
}

/// <summary>A term that must be defined and not <c>false</c>. <see cref="ResultSlot"/> records its value (queries).</summary>
internal sealed class XTerm : X
{
    public required T Term { get; init; }
    public int ResultSlot { get; set; } = -1;
}

/// <summary><c>a = b</c> (also <c>:=</c> after scoping).</summary>
internal sealed class XUnify : X
{
    public required T Left { get; init; }
    public required T Right { get; init; }
    public int ResultSlot { get; set; } = -1;
}

/// <summary><c>some k, v in coll</c>.</summary>
internal sealed class XSomeIn : X
{
    public T? Key { get; init; }
    public required T Value { get; init; }
    public required T Collection { get; init; }
    public int ResultSlot { get; set; } = -1;
}

/// <summary><c>every k, v in coll { body }</c>.</summary>
internal sealed class XEvery : X
{
    public T? Key { get; init; }
    public required T Value { get; init; }
    public required T Collection { get; init; }
    public required X[] Body { get; set; }
    public required int[] Locals { get; set; }
    /// <summary>Slots of enclosing scopes that the body reads.</summary>
    public int[] Outer { get; set; } = [];
    public int ResultSlot { get; set; } = -1;
}

/// <summary>Kinds of rules at one path.</summary>
internal enum RuleKind
{
    /// <summary>One value at a fully static path (<c>p := 1</c>, <c>a.b.c if ...</c>).</summary>
    Complete,
    /// <summary><c>p contains x</c> at a static path.</summary>
    MultiValue,
    /// <summary>A ref head with variables after its static prefix (<c>p[k] := v</c>, <c>a.b[x].c := 1</c>, <c>p[x] contains y</c>).</summary>
    Dynamic,
    /// <summary><c>f(x) := y</c>.</summary>
    Function,
}

/// <summary>A compiled rule (one definition; <see cref="Else"/> chains follow).</summary>
internal sealed class CRule
{
    public required RuleKind Kind { get; init; }
    /// <summary>The full head ref after <c>data</c>: package segments then the rule's ref (static part as constants).</summary>
    public required T[] HeadRef { get; set; }
    /// <summary>Number of leading string constants of <see cref="HeadRef"/> (the path where the rule is mounted).</summary>
    public required int StaticLen { get; init; }
    /// <summary>The element of a multi-value rule.</summary>
    public T? Key { get; set; }
    /// <summary>The value (true when omitted); null for multi-value rules.</summary>
    public T? Value { get; set; }
    public T[]? Args { get; set; }
    public X[] Body { get; set; } = [];
    public int SlotCount { get; set; }
    public bool IsDefault { get; init; }
    public CRule? Else { get; set; }
    public required RegoLocation Loc { get; init; }
    /// <summary><c>data.a.b.p</c></summary>
    public required string PathString { get; init; }
    /// <summary>Source order across modules (indexing keeps it).</summary>
    public int Order { get; set; }
}
