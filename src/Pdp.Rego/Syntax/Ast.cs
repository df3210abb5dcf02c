using Pdp.Rego.Values;

namespace Pdp.Rego.Syntax;

// The Rego abstract syntax tree produced by the parser and consumed by the compiler and evaluator.
// Nodes are immutable after parsing except for the compiler's annotations (see Rule.Module). Every node keeps
// its source location. Shapes follow OPA's ast package: a body is a list of expressions, an expression is a term,
// a unification, an assignment, a `some` declaration or an `every`; operators are calls to built-ins.

/// <summary>Base of every AST node: where it starts in the source.</summary>
public abstract class Node
{
    /// <summary>1-based line and column of the node's first token.</summary>
    public required RegoLocation Location { get; init; }
}

// ---------------------------------------------------------------- terms

/// <summary>A Rego term: a value, a variable, a reference, a composite, a call or a comprehension.</summary>
public abstract class Term : Node { }

/// <summary>A scalar literal: null, a boolean, a number or a string (<see cref="Value"/> holds it).</summary>
public sealed class ScalarTerm : Term
{
    public required Value Value { get; init; }
}

/// <summary>A variable. The wildcard <c>_</c> is kept as <c>_</c> by the parser; the compiler makes each one unique.</summary>
public sealed class VarTerm : Term
{
    public required string Name { get; init; }
    /// <summary>True for the wildcard <c>_</c>.</summary>
    public bool IsWildcard => Name == "_";
}

/// <summary>
/// A reference: <c>Head</c> followed by a path. <c>a.b[x]["c"]</c> is Head=Var a, Path=[String "b", Var x, String "c"].
/// Head is a <see cref="VarTerm"/> (<c>data</c>, <c>input</c>, a rule name, a local) or another term
/// (<c>f(x).y</c>, <c>[1,2][0]</c>, <c>{"a": 1}.a</c>).
/// </summary>
public sealed class RefTerm : Term
{
    public required Term Head { get; init; }
    public required IReadOnlyList<Term> Path { get; init; }
}

/// <summary><c>[a, b]</c></summary>
public sealed class ArrayTerm : Term
{
    public required IReadOnlyList<Term> Items { get; init; }
}

/// <summary><c>{k: v, ...}</c></summary>
public sealed class ObjectTerm : Term
{
    public required IReadOnlyList<KeyValuePair<Term, Term>> Items { get; init; }
}

/// <summary><c>{a, b}</c> or <c>set()</c></summary>
public sealed class SetTerm : Term
{
    public required IReadOnlyList<Term> Items { get; init; }
}

/// <summary>
/// A call: <c>count(x)</c>, <c>object.get(o, k, d)</c>, <c>data.pkg.f(x)</c>, and every operator, named as OPA
/// names them: <c>plus minus mul div rem and or equal neq lt lte gt gte internal.member_2 internal.member_3</c>
/// (<c>x in xs</c> is <c>internal.member_2(x, xs)</c>; <c>k, v in xs</c> is <c>internal.member_3(k, v, xs)</c>).
/// Unary minus on a non-literal is <c>minus(0, x)</c>.
/// </summary>
public sealed class CallTerm : Term
{
    /// <summary>The function's reference: a built-in (<c>count</c>, <c>object.get</c>) or a rule (<c>f</c>, <c>data.pkg.f</c>).</summary>
    public required RefTerm Operator { get; init; }
    public required IReadOnlyList<Term> Args { get; init; }
    /// <summary>The operator's dotted name, e.g. <c>object.get</c>, <c>plus</c>, <c>data.pkg.f</c>.</summary>
    public string Name => RefName(Operator);

    /// <summary>Dotted name of a ref made of a var head and string path elements (<c>a.b.c</c>).</summary>
    public static string RefName(RefTerm r)
    {
        var head = r.Head is VarTerm v ? v.Name : "?";
        if (r.Path.Count == 0) return head;
        var sb = new System.Text.StringBuilder(head);
        foreach (var p in r.Path)
        {
            sb.Append('.');
            sb.Append(p is ScalarTerm { Value: StringValue s } ? s.Value : "?");
        }
        return sb.ToString();
    }
}

/// <summary><c>[head | body]</c></summary>
public sealed class ArrayComprehensionTerm : Term
{
    public required Term Head { get; init; }
    public required Body Body { get; init; }
}

/// <summary><c>{head | body}</c></summary>
public sealed class SetComprehensionTerm : Term
{
    public required Term Head { get; init; }
    public required Body Body { get; init; }
}

/// <summary><c>{key: value | body}</c></summary>
public sealed class ObjectComprehensionTerm : Term
{
    public required Term Key { get; init; }
    public required Term Value { get; init; }
    public required Body Body { get; init; }
}

// ---------------------------------------------------------------- expressions and bodies

/// <summary>A query or rule body: expressions evaluated in order, all must succeed.</summary>
public sealed class Body : Node
{
    public required IReadOnlyList<Expr> Exprs { get; init; }
}

/// <summary>One expression of a body, possibly negated (<c>not</c>) and with <c>with</c> modifiers.</summary>
public abstract class Expr : Node
{
    public bool Negated { get; init; }
    public IReadOnlyList<WithModifier> With { get; init; } = [];
    /// <summary>The expression's source text (for <c>opa eval</c>'s <c>text</c> field).</summary>
    public string Text { get; init; } = "";
}

/// <summary>A term used as an expression: <c>input.x</c>, <c>count(x) &gt; 1</c>, <c>x == y</c>, <c>f(x)</c>.</summary>
public sealed class TermExpr : Expr
{
    public required Term Term { get; init; }
}

/// <summary>Unification <c>left = right</c>.</summary>
public sealed class UnifyExpr : Expr
{
    public required Term Left { get; init; }
    public required Term Right { get; init; }
}

/// <summary>Assignment <c>left := right</c>: declares the variables of <c>left</c> (a var, or an array/object pattern).</summary>
public sealed class AssignExpr : Expr
{
    public required Term Left { get; init; }
    public required Term Right { get; init; }
}

/// <summary><c>some x, y</c>: declares local variables.</summary>
public sealed class SomeDeclExpr : Expr
{
    public required IReadOnlyList<VarTerm> Vars { get; init; }
}

/// <summary><c>some v in coll</c> or <c>some k, v in coll</c> (Key null in the first form). Key and Value may be patterns.</summary>
public sealed class SomeInExpr : Expr
{
    public Term? Key { get; init; }
    public required Term Value { get; init; }
    public required Term Collection { get; init; }
}

/// <summary><c>every v in coll { body }</c> or <c>every k, v in coll { body }</c>.</summary>
public sealed class EveryExpr : Expr
{
    public Term? Key { get; init; }
    public required Term Value { get; init; }
    public required Term Collection { get; init; }
    public required Body Body { get; init; }
}

/// <summary><c>with target as value</c>: target is a ref to <c>input</c>, <c>data</c>, a function or a built-in.</summary>
public sealed class WithModifier : Node
{
    public required Term Target { get; init; }
    public required Term Value { get; init; }
}

// ---------------------------------------------------------------- modules and rules

/// <summary>A parsed Rego module (one file).</summary>
public sealed class Module : Node
{
    /// <summary>The package as a ref rooted at <c>data</c>: <c>package a.b</c> is <c>data.a.b</c>.</summary>
    public required RefTerm Package { get; init; }
    public required IReadOnlyList<Import> Imports { get; init; }
    public required IReadOnlyList<Rule> Rules { get; init; }
    /// <summary>The file the module was parsed from.</summary>
    public required string File { get; init; }
}

/// <summary><c>import data.x.y as z</c> (Path is a ref rooted at <c>data</c>, <c>input</c>, <c>future</c> or <c>rego</c>).</summary>
public sealed class Import : Node
{
    public required RefTerm Path { get; init; }
    public string? Alias { get; init; }
}

/// <summary>
/// A rule: <c>[default] head [if] body [else ...]</c>. A rule without body (<c>p := 1</c>) gets the body <c>true</c>.
/// </summary>
public sealed class Rule : Node
{
    public bool IsDefault { get; init; }
    public required RuleHead Head { get; init; }
    public required Body Body { get; init; }
    /// <summary>The next rule of an <c>else</c> chain (its head shares this rule's ref and args), or null.</summary>
    public Rule? Else { get; init; }
    /// <summary>The module defining the rule (set by the parser once the module is built).</summary>
    public Module? Module { get; set; }
}

/// <summary>
/// A rule head. Forms (Rego v1):
/// <c>p := v</c> / <c>p = v</c> / <c>p if ...</c> (Value = true) — single value, Ref=[p];
/// <c>a.b[k] := v</c> — single value at a ref (ref head);
/// <c>p contains x</c> — multi-value (partial set), Key=x, Value=null;
/// <c>f(x, y) := v</c> — function, Args set.
/// </summary>
public sealed class RuleHead : Node
{
    /// <summary>The rule's ref relative to its package: head var is the rule's first name (<c>p</c>), path the rest.</summary>
    public required RefTerm Ref { get; init; }
    /// <summary>Function arguments, or null for a non-function rule.</summary>
    public IReadOnlyList<Term>? Args { get; init; }
    /// <summary>The element of a multi-value (<c>contains</c>) rule; null otherwise.</summary>
    public Term? Key { get; init; }
    /// <summary>The value; null only for a multi-value rule. <c>p if ...</c> has Value = true.</summary>
    public Term? Value { get; init; }
    /// <summary>True when declared with <c>:=</c>.</summary>
    public bool Assign { get; init; }
    /// <summary>True for <c>contains</c> rules.</summary>
    public bool IsMultiValue => Key is not null && Value is null;
    /// <summary>The rule's first name, e.g. <c>p</c> for <c>p.q[r] := 1</c>.</summary>
    public string Name => ((VarTerm)Ref.Head).Name;
}
