using Pdp.Rego.Syntax;
using Pdp.Rego.Values;
using static Pdp.Rego.Tests.Syntax.AstPrinter;

namespace Pdp.Rego.Tests.Syntax;

[TestFixture]
public class ParserTests
{
    private static Module Mod(string text) => RegoParser.ParseModule("test.rego", text);

    private static string Rules(string body) => string.Join("\n", Mod("package test\n" + body).Rules.Select(Show));

    private static string Q(string query) => Show(RegoParser.ParseQuery(query));

    private static RegoException ParseError(string module) =>
        Assert.Throws<RegoException>(() => RegoParser.ParseModule("test.rego", module))!;

    // ------------------------------------------------------------ modules, packages, imports

    [Test]
    public void PackageIsARefRootedAtData()
    {
        var m = Mod("package a.b[\"c-d\"]\n");
        Assert.That(Show(m.Package), Is.EqualTo("data.a.b[\"c-d\"]"));
        Assert.That(m.Rules, Is.Empty);
        Assert.That(m.File, Is.EqualTo("test.rego"));
        Assert.That(m.Location.Line, Is.EqualTo(1));
    }

    [Test]
    public void ImportsKeepPathsAndAliasesAndDropKeywordImports()
    {
        var m = Mod("""
            package test
            import rego.v1
            import future.keywords.in
            import future.keywords
            import data.x.y as z
            import input.tool
            import data.servers
            """);
        Assert.That(m.Imports.Select(i => Show(i.Path) + (i.Alias is null ? "" : " as " + i.Alias)),
            Is.EqualTo(new[] { "data.x.y as z", "input.tool", "data.servers" }));
        Assert.That(m.Imports[0].Location.Line, Is.EqualTo(5));
    }

    [TestCase("package test\nimport foo.bar", "unexpected import path, must begin with one of: {data, future, input, rego}, got: foo")]
    [TestCase("package test\nimport rego.v3", "invalid import `rego.v3`, must be `rego.v1`")]
    [TestCase("package test\nimport future.keywords.nope", "unexpected keyword, must be one of")]
    [TestCase("package test\nimport future.keywords.in as x", "`future` imports cannot be aliased")]
    [TestCase("package test\nimport data.foo.if", "unexpected import path, must not end with a keyword, got: if")]
    [TestCase("p := 1", "package expected")]
    [TestCase("", "empty module")]
    [TestCase("package a\npackage b", "unexpected package")]
    public void ModuleLevelErrors(string text, string message)
    {
        var ex = ParseError(text);
        Assert.That(ex.Code, Is.EqualTo("rego_parse_error"));
        Assert.That(ex.Message, Does.Contain(message));
    }

    // ------------------------------------------------------------ rules

    [Test]
    public void RuleForms()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Rules("p if input.x"), Is.EqualTo("p = true :- input.x"));
            Assert.That(Rules("p := 1"), Is.EqualTo("p := 1 :- true"));
            Assert.That(Rules("p = 1"), Is.EqualTo("p = 1 :- true"));
            Assert.That(Rules("p := 1 if { true }"), Is.EqualTo("p := 1 :- true"));
            Assert.That(Rules("p if { x := 1; x > 0 }"), Is.EqualTo("p = true :- x := 1; gt(x, 0)"));
            Assert.That(Rules("default p := false"), Is.EqualTo("default p := false :- true"));
            Assert.That(Rules("default f(_) := {\"a\": [1]}"), Is.EqualTo("default f(_) := {\"a\": [1]} :- true"));
            Assert.That(Rules("p contains x if { some x in input.xs }"), Is.EqualTo("p contains x :- some x in input.xs"));
            Assert.That(Rules("p contains \"a\""), Is.EqualTo("p contains \"a\" :- true"));
            Assert.That(Rules("a.b[c].d contains x if { x := c }"), Is.EqualTo("a.b[c].d contains x :- x := c"));
            Assert.That(Rules("p[x] := y if { some x, y in input }"), Is.EqualTo("p[x] := y :- some x, y in input"));
            Assert.That(Rules("p.q.r := 3"), Is.EqualTo("p.q.r := 3 :- true"));
            Assert.That(Rules("p[x] if x := 1"), Is.EqualTo("p[x] = true :- x := 1"));
            Assert.That(Rules("f(x) := y if y := x + 1"), Is.EqualTo("f(x) := y :- y := plus(x, 1)"));
            Assert.That(Rules("f(x, y) if x == y"), Is.EqualTo("f(x, y) = true :- equal(x, y)"));
            Assert.That(Rules("f(x) := 1"), Is.EqualTo("f(x) := 1 :- true"));
            Assert.That(Rules("a.b.f(x) := x"), Is.EqualTo("a.b.f(x) := x :- true"));
        });
    }

    [Test]
    public void RuleHeadDetails()
    {
        var r = Mod("package test\np.q[r] := 1 if r := \"x\"").Rules[0];
        Assert.That(r.Head.Name, Is.EqualTo("p"));
        Assert.That(r.Head.Assign, Is.True);
        Assert.That(r.Head.Args, Is.Null);
        Assert.That(r.Head.IsMultiValue, Is.False);
        Assert.That(r.Head.Ref.Path.Count, Is.EqualTo(2));
        Assert.That(r.Module, Is.Not.Null);

        var c = Mod("package test\ns contains 1").Rules[0];
        Assert.That(c.Head.IsMultiValue, Is.True);
        Assert.That(c.Head.Value, Is.Null);

        var f = Mod("package test\nf(a, [b, c]) := a").Rules[0];
        Assert.That(f.Head.Args!.Select(Show), Is.EqualTo(new[] { "a", "[b, c]" }));
        Assert.That(f.Head.Assign, Is.True);
    }

    [Test]
    public void FunctionsWithSeveralDefinitionsAreSeparateRules()
    {
        var m = Mod("""
            package test
            f(1) := "one"
            f(2) := "two"
            f(x) := "many" if x > 2
            """);
        Assert.That(m.Rules.Select(r => r.Head.Name), Is.EqualTo(new[] { "f", "f", "f" }));
        Assert.That(m.Rules.Select(r => r.Location.Line), Is.EqualTo(new[] { 2, 3, 4 }));
    }

    [Test]
    public void ElseChains()
    {
        var text = """
            p := 1 if {
              input.a
            } else := 2 if {
              input.b
            } else = 3 if input.c
            else := 4
            """;
        Assert.That(Rules(text), Is.EqualTo("p := 1 :- input.a else p := 2 :- input.b else p = 3 :- input.c else p := 4 :- true"));

        Assert.That(Rules("p if { false } else if { true }"), Is.EqualTo("p = true :- false else p = true :- true"));
        Assert.That(Rules("f(x) := 1 if x > 0 else := 2"), Is.EqualTo("f(x) := 1 :- gt(x, 0) else f(x) := 2 :- true"));
        var r = Mod("package test\np := 1 if false else := 2").Rules[0];
        Assert.That(r.Else!.Head.Ref.Head, Is.InstanceOf<VarTerm>());
        Assert.That(r.Else!.Location.Column, Is.EqualTo(17));
    }

    [Test]
    public void SeveralBodiesDefineSeveralRules()
    {
        Assert.That(Rules("p if { input.a } { input.b }"), Is.EqualTo("p = true :- input.a\np = true :- input.b"));
    }

    [Test]
    public void IfWithBracesIsABodyButObjectsAndComprehensionsAreTerms()
    {
        Assert.That(Rules("p if { input.x }"), Is.EqualTo("p = true :- input.x"));
        Assert.That(Rules("p if {\"a\": 1}"), Is.EqualTo("p = true :- {\"a\": 1}"));
    }

    [TestCase("p { true }", "`if` keyword is required before rule body")]
    [TestCase("f(x) { true }", "`if` keyword is required before function body")]
    [TestCase("p[x] { x := 1 }", "`contains` keyword is required for partial set rules")]
    [TestCase("p[x]", "`contains` keyword is required for partial set rules")]
    [TestCase("p", "var cannot be used for rule name")]
    [TestCase("p.q.r", "rule must have value assignment and/or body declaration")]
    [TestCase("if := 1", "unexpected if keyword")]
    [TestCase("contains := 1", "contains keyword cannot be used for rule name")]
    [TestCase("p := 1 if { true } else := 2 { true }", "`if` keyword is required before rule body")]
    [TestCase("p[x] := 1 if { x := 1 } else := 2", "else keyword cannot be used on rules with variables in head")]
    [TestCase("default p := x", "illegal default rule (value cannot contain var)")]
    [TestCase("default p := input.x", "illegal default rule (value cannot contain ref)")]
    [TestCase("default f(1) := 1", "illegal default rule (arguments cannot contain number)")]
    [TestCase("1 = 2", "number cannot be used for rule name")]
    [TestCase("not p", "negated expressions cannot be used for rule head")]
    [TestCase("p if { true } else if { }", "found empty body")]
    [TestCase("p if { x := 1 y := 2 }", "unexpected identifier token: expected \\n or ; or }")]
    [TestCase("p := ", "unexpected eof token: expected rule value term (e.g., p := <VALUE> { ... })")]
    [TestCase("default p := ", "expected default rule value term (e.g., default p := <VALUE>)")]
    [TestCase("f(x) := ", "expected function value term (e.g., f(...) := <VALUE> { ... })")]
    [TestCase("p contains ", "expected rule key term (e.g., p contains <VALUE> { ... })")]
    [TestCase("f(x) contains 1", "the contains keyword can only be used with multi-value rule definitions")]
    [TestCase("p := [1, 2", "unexpected eof token: expected \",\" or \"]\"")]
    [TestCase("p := \"abc", "non-terminated string")]
    [TestCase("p := \"a\\qb\"", "illegal escape sequence")]
    [TestCase("p := 01", "expected number without leading zero")]
    [TestCase("p := 1.", "expected fraction")]
    [TestCase("p := 1e", "expected exponent")]
    [TestCase("p := 1 ! 2", "illegal ! character")]
    [TestCase("p if { some 1 }", "unexpected number token: expected var")]
    [TestCase("p if { not some x }", "illegal negation of 'some'")]
    [TestCase("p if { every x in xs }", "missing body")]
    [TestCase("p if { every [x] in xs { true } }", "expected value to be a variable")]
    [TestCase("p if { x with input }", "expected as keyword")]
    [TestCase("p := (1 + 2", "non-terminated expression")]
    [TestCase("p := {1 2}", "non-terminated set")]
    [TestCase("p := \"a\"[0]", "illegal ref (head cannot be string)")]
    public void RuleErrors(string rule, string message)
    {
        var ex = ParseError("package test\n" + rule);
        Assert.That(ex.Code, Is.EqualTo("rego_parse_error"));
        Assert.That(ex.Errors.Select(e => e.Message), Has.Some.Contains(message), ex.Message);
        Assert.That(ex.Errors.All(e => e.Location is { File: "test.rego", Line: >= 2 }), Is.True, ex.Message);
    }

    [Test]
    public void ErrorsCarryFileLineAndColumn()
    {
        var ex = ParseError("package test\n\np if {\n  x := \n}\n");
        Assert.That(ex.Errors[0].Location, Is.EqualTo(new RegoLocation("test.rego", 5, 1)));
        Assert.That(ex.Errors[0].Message, Is.EqualTo("unexpected } token"));
        Assert.That(ex.Message, Does.Contain("test.rego:5"));

        var v0 = ParseError("package test\n\np { true }\n");
        Assert.That(v0.Errors[0].Location, Is.EqualTo(new RegoLocation("test.rego", 3, 1)));
    }

    [Test]
    public void AllErrorsOfAModuleAreCollected()
    {
        var ex = ParseError("""
            package test

            p { true }

            q := [1,

            r := 1

            s if { x := }
            """);
        Assert.That(ex.Errors.Select(e => e.Location!.Line).Distinct(), Is.EqualTo(new[] { 3, 7, 9 }));
        Assert.That(ex.Errors.Select(e => e.Code).Distinct(), Is.EqualTo(new[] { "rego_parse_error" }));
    }

    // ------------------------------------------------------------ bodies and expressions

    [Test]
    public void BodiesSplitBySemicolonsOrNewlines()
    {
        Assert.That(Rules("p if { a; b\n c\n\n d }"), Is.EqualTo("p = true :- a; b; c; d"));
    }

    [Test]
    public void ExpressionsContinueAcrossLinesInsideBracketsAndAfterOperators()
    {
        var text = """
            p if {
              x := 1 +
                2
              y := [1,
                2]
              count(y,
              ) == 2
              z := {"a":
                1}
            }
            """;
        Assert.That(Rules(text), Is.EqualTo("p = true :- x := plus(1, 2); y := [1, 2]; equal(count(y), 2); z := {\"a\": 1}"));
    }

    [Test]
    public void ExpressionKinds()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("x = 1"), Is.EqualTo("x = 1"));
            Assert.That(Q("x := 1"), Is.EqualTo("x := 1"));
            Assert.That(Q("[a, b] := [1, 2]"), Is.EqualTo("[a, b] := [1, 2]"));
            Assert.That(Q("some x, y"), Is.EqualTo("some x, y"));
            Assert.That(Q("some v in xs"), Is.EqualTo("some v in xs"));
            Assert.That(Q("some k, v in xs"), Is.EqualTo("some k, v in xs"));
            Assert.That(Q("some [a, b] in xs"), Is.EqualTo("some [a, b] in xs"));
            Assert.That(Q("every k, v in xs { k < v }"), Is.EqualTo("every k, v in xs { lt(k, v) }"));
            Assert.That(Q("every v in xs { v }"), Is.EqualTo("every v in xs { v }"));
            Assert.That(Q("not p"), Is.EqualTo("not p"));
            Assert.That(Q("not x == 1"), Is.EqualTo("not equal(x, 1)"));
            Assert.That(Q("p with input as 1 with data.a.b as {\"c\": 2}"), Is.EqualTo("p with input as 1 with data.a.b as {\"c\": 2}"));
            Assert.That(Q("not p with f as g"), Is.EqualTo("not p with f as g"));
            Assert.That(Q("x in xs"), Is.EqualTo("internal.member_2(x, xs)"));
            Assert.That(Q("k, v in xs"), Is.EqualTo("internal.member_3(k, v, xs)"));
            Assert.That(Q("f(x, y in z)"), Is.EqualTo("f(x, internal.member_2(y, z))"));
            Assert.That(Q("a; b"), Is.EqualTo("a; b"));
        });
        var some = (SomeInExpr)RegoParser.ParseQuery("some v in xs").Exprs[0];
        Assert.That(some.Key, Is.Null);
        var every = (EveryExpr)RegoParser.ParseQuery("every k, v in xs { true }").Exprs[0];
        Assert.That(every.Key, Is.InstanceOf<VarTerm>());
    }

    [Test]
    public void ExpressionTextAndLocation()
    {
        var body = RegoParser.ParseQuery("x := 1\n  not y == 2 with input as {}  # comment\n");
        Assert.That(body.Exprs[0].Text, Is.EqualTo("x := 1"));
        Assert.That(body.Exprs[1].Text, Is.EqualTo("not y == 2 with input as {}"));
        Assert.That(body.Exprs[1].Location, Is.EqualTo(new RegoLocation("query", 2, 3)));
        Assert.That(body.Exprs[1].With[0].Location.Column, Is.EqualTo(14));
        var call = (CallTerm)((TermExpr)body.Exprs[1]).Term;
        Assert.That(call.Location.Column, Is.EqualTo(7));
        Assert.That(call.Operator.Location.Column, Is.EqualTo(9));
    }

    [Test]
    public void Comprehensions()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("[x | x := xs[_]]"), Is.EqualTo("[x | x := xs[_]]"));
            Assert.That(Q("{x | some x in xs}"), Is.EqualTo("{x | some x in xs}"));
            Assert.That(Q("{k: v | some k, v in o; v > 1}"), Is.EqualTo("{k: v | some k, v in o; gt(v, 1)}"));
            Assert.That(Q("[[x, y] | x := 1\n y := 2]"), Is.EqualTo("[[x, y] | x := 1; y := 2]"));
            // `a | b` inside an array whose first item is followed by a comma is the `or` operator.
            Assert.That(Q("[a | b, c]"), Is.EqualTo("[or(a, b), c]"));
        });
    }

    // ------------------------------------------------------------ terms

    [Test]
    public void Scalars()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("null"), Is.EqualTo("null"));
            Assert.That(Q("true; false"), Is.EqualTo("true; false"));
            Assert.That(Q("x := -12"), Is.EqualTo("x := -12"));
            Assert.That(Q("x := 3.25"), Is.EqualTo("x := 3.25"));
            Assert.That(Q("x := 1e3"), Is.EqualTo("x := 1000"));
            Assert.That(Q("x := -2.5e-1"), Is.EqualTo("x := -0.25"));
            Assert.That(Q("x := .5"), Is.EqualTo("x := 0.5"));
            Assert.That(Q("x := 123456789012345678901234567890"), Is.EqualTo("x := 123456789012345678901234567890"));
        });
        var big = (ScalarTerm)((AssignExpr)RegoParser.ParseQuery("x := 123456789012345678901234567891").Exprs[0]).Right;
        Assert.That(((NumberValue)big.Value).IsInteger, Is.True);
    }

    [Test]
    public void Strings()
    {
        string S(string rego) => ((StringValue)((ScalarTerm)RegoParser.ParseTerm(rego)).Value).Value;
        Assert.Multiple(() =>
        {
            Assert.That(S("\"plain\""), Is.EqualTo("plain"));
            Assert.That(S("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""), Is.EqualTo("a\"b\\c/d\b\f\n\r\t"));
            Assert.That(S("\"\\u00e9\\u4e2d\""), Is.EqualTo("é中"));
            Assert.That(S("\"\\ud83d\\ude00\""), Is.EqualTo("😀"));
            Assert.That(S("\"\\ud83d\""), Is.EqualTo("\uFFFD"));
            Assert.That(S("`raw \\n \"string\"\nspans lines`"), Is.EqualTo("raw \\n \"string\"\nspans lines"));
            Assert.That(S("\"\""), Is.EqualTo(""));
        });
    }

    [Test]
    public void Composites()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("x := []"), Is.EqualTo("x := []"));
            Assert.That(Q("x := {}"), Is.EqualTo("x := {}"));
            Assert.That(RegoParser.ParseTerm("{}"), Is.InstanceOf<ObjectTerm>());
            Assert.That(RegoParser.ParseTerm("set()"), Is.InstanceOf<SetTerm>());
            Assert.That(Q("x := {1, \"a\", [2]}"), Is.EqualTo("x := {1, \"a\", [2]}"));
            Assert.That(Q("x := {1: \"one\", [1]: 2, {\"k\"}: 3, y: 4}"), Is.EqualTo("x := {1: \"one\", [1]: 2, {\"k\"}: 3, y: 4}"));
            Assert.That(Q("x := [1, 2,]"), Is.EqualTo("x := [1, 2]"));
            Assert.That(Q("x := {\"a\": 1 + 2, \"b\": y | z}"), Is.EqualTo("x := {\"a\": plus(1, 2), \"b\": or(y, z)}"));
            Assert.That(Q("x := {a + 1, b}"), Is.EqualTo("x := {plus(a, 1), b}"));
        });
    }

    [Test]
    public void RefsAndCalls()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("f(x).y"), Is.EqualTo("f(x).y"));
            Assert.That(Q("[1][0]"), Is.EqualTo("[1][0]"));
            Assert.That(Q("input[\"a\"].b"), Is.EqualTo("input.a.b"));
            Assert.That(Q("input[\"a-b\"][x][0]"), Is.EqualTo("input[\"a-b\"][x][0]"));
            Assert.That(Q("a.b.c(x)"), Is.EqualTo("a.b.c(x)"));
            Assert.That(Q("data.pkg.f(1, 2)"), Is.EqualTo("data.pkg.f(1, 2)"));
            Assert.That(Q("object.get(o, [\"a\", \"b\"], null)"), Is.EqualTo("object.get(o, [\"a\", \"b\"], null)"));
            Assert.That(Q("{\"a\": 1}.a"), Is.EqualTo("{\"a\": 1}.a"));
            Assert.That(Q("input.if.contains.in"), Is.EqualTo("input.if.contains.in"));
            Assert.That(Q("contains(\"abc\", \"b\")"), Is.EqualTo("contains(\"abc\", \"b\")"));
            Assert.That(Q("f()"), Is.EqualTo("f()"));
        });
        var input = (RefTerm)((TermExpr)RegoParser.ParseQuery("input").Exprs[0]).Term;
        Assert.That(input.Path, Is.Empty);
        var call = (CallTerm)((TermExpr)RegoParser.ParseQuery("data.pkg.f(1)").Exprs[0]).Term;
        Assert.That(call.Name, Is.EqualTo("data.pkg.f"));
        // A ref only continues when `[`, `.` or `(` is adjacent: `x [1]` are two expressions.
        Assert.That(Q("x\n[1]"), Is.EqualTo("x; [1]"));
    }

    [Test]
    public void OperatorPrecedenceFollowsOpa()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q("1 + 2 * 3"), Is.EqualTo("plus(1, mul(2, 3))"));
            Assert.That(Q("1 * 2 + 3"), Is.EqualTo("plus(mul(1, 2), 3)"));
            Assert.That(Q("1 - 2 - 3"), Is.EqualTo("minus(minus(1, 2), 3)"));
            Assert.That(Q("8 / 4 / 2 % 3"), Is.EqualTo("rem(div(div(8, 4), 2), 3)"));
            Assert.That(Q("(1 + 2) * 3"), Is.EqualTo("mul(plus(1, 2), 3)"));
            Assert.That(Q("a | b & c"), Is.EqualTo("or(a, and(b, c))"));
            Assert.That(Q("a & b | c"), Is.EqualTo("or(and(a, b), c)"));
            Assert.That(Q("a & b + c"), Is.EqualTo("and(a, plus(b, c))"));
            // In OPA's grammar comparison binds looser than | and &.
            Assert.That(Q("a == b | c"), Is.EqualTo("equal(a, or(b, c))"));
            Assert.That(Q("x == 1 + 2"), Is.EqualTo("equal(x, plus(1, 2))"));
            Assert.That(Q("a < b == true"), Is.EqualTo("equal(lt(a, b), true)"));
            Assert.That(Q("a != b; a <= b; a >= b; a > b"), Is.EqualTo("neq(a, b); lte(a, b); gte(a, b); gt(a, b)"));
            // `in` is the loosest binary operator.
            Assert.That(Q("x in xs == false"), Is.EqualTo("internal.member_2(x, equal(xs, false))"));
            Assert.That(Q("1 + 1 in {2}"), Is.EqualTo("internal.member_2(plus(1, 1), {2})"));
            Assert.That(Q("x = 1 + 2"), Is.EqualTo("x = plus(1, 2)"));
            Assert.That(Q("x := a in b"), Is.EqualTo("x := internal.member_2(a, b)"));
            Assert.That(Q("x := 2 * -3"), Is.EqualTo("x := mul(2, -3)"));
            Assert.That(Q("x := 1 - -1"), Is.EqualTo("x := minus(1, -1)"));
            Assert.That(Q("x := 1 -1"), Is.EqualTo("x := minus(1, 1)"));
            Assert.That(Q("x := -y"), Is.EqualTo("x := minus(0, y)"));
            Assert.That(Q("x := -f(y).z"), Is.EqualTo("x := minus(0, f(y).z)"));
        });
    }

    [Test]
    public void ImprovedNegationIsDesugaredToACountedComprehension()
    {
        var m = Mod("""
            package test
            import future.keywords.not
            p if { not { input.a; input.b } }
            q if { not input.x + 1 == 2 }
            r if { not input.y }
            """);
        Assert.That(Show(m.Rules[0]), Is.EqualTo("p = true :- equal(count([true | input.a; input.b]), 0)"));
        Assert.That(Show(m.Rules[1]), Is.EqualTo("q = true :- equal(count([true | equal(plus(input.x, 1), 2)]), 0)"));
        Assert.That(Show(m.Rules[2]), Is.EqualTo("r = true :- not input.y"));
        Assert.That(m.Rules[0].Body.Exprs[0].Text, Is.EqualTo("not { input.a; input.b }"));
        // Without the import, `not x + 1 == 2` keeps OPA's v1 meaning.
        Assert.That(Rules("q if { not input.x + 1 == 2 }"), Is.EqualTo("q = true :- not equal(plus(input.x, 1), 2)"));
    }

    // ------------------------------------------------------------ robustness

    [Test]
    public void DeepNestingIsAParseErrorNotAStackOverflow()
    {
        foreach (var (open, close) in new[] { ("[", "]"), ("(", ")"), ("{", "}"), ("f(", ")") })
        {
            var text = "package test\np := " + string.Concat(Enumerable.Repeat(open, 5000)) + "1" + string.Concat(Enumerable.Repeat(close, 5000));
            var ex = ParseError(text);
            Assert.That(ex.Message, Does.Contain("max parsing recursion depth exceeded"));
        }
        // Moderate nesting is fine.
        var ok = "package test\np := " + string.Concat(Enumerable.Repeat("[", 200)) + "1" + string.Concat(Enumerable.Repeat("]", 200));
        Assert.That(Mod(ok).Rules, Has.Count.EqualTo(1));
    }

    [Test]
    public void LongChainsAreBounded()
    {
        var elses = "package test\np := 0 if false\n" + string.Concat(Enumerable.Range(1, 500).Select(i => $"else := {i} if false\n")) + "else := -1";
        var rule = Mod(elses).Rules.Single();
        int n = 0;
        for (var r = rule.Else; r is not null; r = r.Else) n++;
        Assert.That(n, Is.EqualTo(501));
        Assert.That(ParseError(elses.Replace("else := -1", string.Concat(Enumerable.Repeat("else := 2\n", 1000)))).Message,
            Does.Contain("max parsing recursion depth exceeded"));

        var sum = "package test\np := 1" + string.Concat(Enumerable.Repeat(" + 1", 900));
        Assert.That(Mod(sum).Rules, Has.Count.EqualTo(1));
        Assert.That(ParseError("package test\np := 1" + string.Concat(Enumerable.Repeat(" + 1", 5000))).Message,
            Does.Contain("max parsing recursion depth exceeded"));
        Assert.That(ParseError("package test\np := 1" + string.Concat(Enumerable.Repeat(" in x", 5000))).Message,
            Does.Contain("max parsing recursion depth exceeded"));
    }

    [Test]
    public void DeepNestingOnASmallStackFailsCleanly()
    {
        Exception? caught = null;
        var text = "package test\np := " + string.Concat(Enumerable.Repeat("[(", 600)) + "1" + string.Concat(Enumerable.Repeat(")]", 600));
        var thread = new Thread(() =>
        {
            try { RegoParser.ParseModule("t.rego", text); }
            catch (Exception e) { caught = e; }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        Assert.That(caught, Is.InstanceOf<RegoException>());
    }

    [Test]
    public void FailingSpeculationStaysFast()
    {
        // Each level is first tried as a comprehension, then as an array: without memoizing failures this
        // would take 2^40 steps.
        var text = "package test\np := " + string.Concat(Enumerable.Repeat("[a | ", 40)) + "x,";
        var sw = System.Diagnostics.Stopwatch.StartNew();
        ParseError(text);
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(5));
    }

    [Test]
    public void MutatedPoliciesNeverThrowAnythingButRegoException()
    {
        var rnd = new Random(7);
        var source = BuildPolicy(3);
        const string pieces = "{}[]()|,;:=\n\"` .-+ifnotsomeeveryin";
        for (int i = 0; i < 300; i++)
        {
            var chars = source.ToCharArray().ToList();
            for (int k = 0; k < 5; k++)
            {
                int at = rnd.Next(chars.Count);
                switch (rnd.Next(3))
                {
                    case 0: chars.RemoveAt(at); break;
                    case 1: chars.Insert(at, pieces[rnd.Next(pieces.Length)]); break;
                    default: chars[at] = pieces[rnd.Next(pieces.Length)]; break;
                }
            }
            try { RegoParser.ParseModule("m.rego", new string(chars.ToArray())); }
            catch (RegoException ex) { Assert.That(ex.Errors, Is.Not.Empty); }
        }
    }

    [Test]
    public void NullTextIsARegoException()
    {
        Assert.Throws<RegoException>(() => RegoParser.ParseModule("x.rego", null!));
        Assert.Throws<RegoException>(() => RegoParser.ParseQuery(null!));
        Assert.That(Assert.Throws<RegoException>(() => RegoParser.ParseQuery("  # nothing\n"))!.Message, Does.Contain("empty query"));
    }

    [Test]
    public void GarbageNeverThrowsAnythingButRegoException()
    {
        // Any other exception type escapes and fails the test; the counts show both paths were exercised.
        var rnd = new Random(42);
        const string alphabet = "abc01 .,;:=[]{}()|&+-*/%<>!\"`#\n\tifnotsomeeverywithas_";
        int parsed = 0, rejected = 0;
        for (int i = 0; i < 2000; i++)
        {
            var chars = new char[rnd.Next(1, 60)];
            for (int j = 0; j < chars.Length; j++) chars[j] = alphabet[rnd.Next(alphabet.Length)];
            var text = "package t\n" + new string(chars);
            try { RegoParser.ParseModule("f.rego", text); parsed++; }
            catch (RegoException e) { Assert.That(e.Code, Is.EqualTo("rego_parse_error")); rejected++; }
            try { RegoParser.ParseQuery(new string(chars)); parsed++; }
            catch (RegoException e) { Assert.That(e.Code, Is.EqualTo("rego_parse_error")); rejected++; }
        }
        Assert.That(rejected, Is.GreaterThan(0));
        Assert.That(parsed + rejected, Is.EqualTo(4000));
    }

    [Test]
    public void ParsesInParallel()
    {
        var text = BuildPolicy(50);
        var counts = new int[16];
        Parallel.For(0, 16, i => counts[i] = RegoParser.ParseModule($"m{i}.rego", text).Rules.Count);
        Assert.That(counts.Distinct().Single(), Is.EqualTo(Mod(text).Rules.Count));
    }

    [Test]
    public void ParsingA200RulePolicyIsFast()
    {
        var text = BuildPolicy(200);
        for (int i = 0; i < 20; i++) RegoParser.ParseModule("p.rego", text); // warm up the JIT
        var times = new List<double>();
        for (int i = 0; i < 21; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var m = RegoParser.ParseModule("p.rego", text);
            sw.Stop();
            Assert.That(m.Rules.Count, Is.GreaterThanOrEqualTo(200));
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        // The best run is the least disturbed by other processes on a shared machine.
        var best = times[0];
        var median = times[times.Count / 2];
        TestContext.Out.WriteLine($"200-rule policy ({text.Length} chars): best {best:F3} ms, median {median:F3} ms");
#if DEBUG
        const double limit = 25; // unoptimized build
#else
        const double limit = 5;
#endif
        Assert.That(best, Is.LessThan(limit));
    }

    /// <summary>A realistic MCP authorization policy with <paramref name="grants"/> grant rules.</summary>
    internal static string BuildPolicy(int grants)
    {
        var sb = new System.Text.StringBuilder("""
            package policypoint.authz

            import rego.v1
            import data.policypoint.sessions

            default allow := false

            allow if {
                some grant in matching_grants
                not denied
            }

            matching_grants contains g if {
                some g in grants
                g.workload == input.subject.spiffe_id
                glob.match(g.tool, ["/"], input.tool.name)
            }

            denied if {
                some call in input.session.history
                call.tool == "shell.exec"
                time.now_ns() - call.at_ns < 60 * 1000000000
            }

            jit_ok if {
                cred := input.credentials[_]
                cred.kind == "jit"
                cred.expires_at_ns > time.now_ns()
            } else := false

            reasons := [r | some r in deny_reasons]

            deny_reasons contains sprintf("tool %s not granted", [input.tool.name]) if not allow

            """);
        for (int i = 0; i < grants; i++)
        {
            sb.Append($"grant_{i} if {{\n    input.subject.spiffe_id == \"spiffe://corp/ns/team{i % 7}/sa/agent{i}\"\n" +
                      $"    input.tool.name in {{\"files.read\", \"files.list\", \"search.query_{i}\"}}\n" +
                      $"    count(input.session.history) < {i + 10}\n" +
                      $"    not input.tool.arguments.path == \"/etc/shadow\"\n}}\n\n");
        }
        return sb.ToString();
    }
}
