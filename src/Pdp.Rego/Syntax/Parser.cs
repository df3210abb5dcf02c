using System.Runtime.CompilerServices;
using Pdp.Rego.Values;

namespace Pdp.Rego.Syntax;

/// <summary>
/// Recursive-descent parser for Rego v1 over the token array of <see cref="Lexer"/>. One instance parses one
/// text (not thread-safe; <see cref="RegoParser"/> creates one per call).
/// <para>
/// It follows OPA's grammar (v1/ast/parser.go) closely, including its speculative parses: a method returns null
/// on failure after recording an error, and <see cref="Save"/>/<see cref="Restore"/> rewind the token index and
/// drop the errors recorded since. Binary operators use precedence climbing (lowest to highest: <c>in</c>;
/// <c>== != &lt; &lt;= &gt; &gt;=</c>; <c>|</c>; <c>&amp;</c>; <c>+ -</c>; <c>* / %</c>), all left-associative,
/// which yields the same trees as OPA's chain of functions with fewer stack frames per nesting level.
/// </para>
/// </summary>
internal sealed class Parser
{
    private const string ParseErr = "rego_parse_error";

    private const int PrecRelation = 1;
    private const int PrecOr = 2;
    private const int PrecAnd = 3;
    private const int PrecArith = 4;
    private const int PrecFactor = 5;

    private readonly string _src;
    private readonly string _file;
    private readonly Token[] _toks;
    private readonly Dictionary<int, string> _illegal;
    private readonly List<RegoError> _errors = new();
    private int _pos;
    private int _depth;
    // OPA 1.17+ `import future.keywords.not` / `import rego.v2`: `not { body }` and negation of the whole
    // expression including its nested calls. Desugared to `count([true | body]) == 0`.
    private bool _improvedNot;
    // Memo of successful composite term parses by start token, so that backtracking over nested
    // arrays/sets/objects stays linear (OPA keeps a similar cache).
    // Failures are memoized too, with the errors they recorded, so failing speculation cannot go exponential.
    private Dictionary<int, (Term? Term, int Next, RegoError[]? Errors)>? _termCache;

    public Parser(string file, string text)
    {
        _file = file;
        _src = text;
        _toks = Lexer.Tokenize(text, out _illegal);
    }

    // ------------------------------------------------------------------ token helpers

    private ref readonly Token Tok => ref _toks[_pos];
    private TokenKind Kind => _toks[_pos].Kind;
    private TokenKind PeekKind => _pos + 1 < _toks.Length ? _toks[_pos + 1].Kind : TokenKind.Eof;

    private void Advance()
    {
        if (_pos < _toks.Length - 1) _pos++;
    }

    /// <summary>End offset of the last consumed token (for expression text).</summary>
    private int LastEnd => _pos > 0 ? _toks[_pos - 1].End : 0;

    private RegoLocation Loc(in Token t) => new(_file, t.Line, t.Column);

    private string TextOf(in Token t) => _src.Substring(t.Start, t.End - t.Start);

    private (int Pos, int Errors) Save() => (_pos, _errors.Count);

    private void Restore((int Pos, int Errors) s)
    {
        _pos = s.Pos;
        if (_errors.Count > s.Errors) _errors.RemoveRange(s.Errors, _errors.Count - s.Errors);
    }

    /// <summary>A keyword directly followed by <c>.</c> or <c>[</c> is the head of a ref (<c>input.if</c> is
    /// fine and so is <c>if.x</c> as OPA allows keywords in refs).</summary>
    private bool KeywordAsRefHead(int i)
    {
        var k = _toks[i].Kind;
        if (!Lexer.IsKeyword(k) || i + 1 >= _toks.Length) return false;
        ref readonly var n = ref _toks[i + 1];
        return !n.SpaceBefore && n.Kind is TokenKind.Dot or TokenKind.LBrack;
    }

    // ------------------------------------------------------------------ errors

    private void Error(in Token at, string message) => _errors.Add(new RegoError(ParseErr, message, Loc(at)));

    private void Error(RegoLocation at, string message) => _errors.Add(new RegoError(ParseErr, message, at));

    /// <summary>OPA's "unexpected X token[: note]" error at the current token.</summary>
    private void Illegal(string note = "")
    {
        ref readonly var t = ref Tok;
        if (t.Kind == TokenKind.Illegal)
        {
            Error(t, _illegal.TryGetValue(t.Start, out var m) ? m : "illegal token");
            return;
        }
        var what = Lexer.Describe(t.Kind) + (Lexer.IsKeyword(t.Kind) ? " keyword" : " token");
        Error(t, note.Length > 0 ? $"unexpected {what}: {note}" : $"unexpected {what}");
    }

    private bool Enter()
    {
        if (_depth >= RegoParser.MaxNestingDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            Error(Tok, "max parsing recursion depth exceeded");
            return false;
        }
        _depth++;
        return true;
    }

    private RegoException Fail()
    {
        if (_errors.Count == 0) Illegal(); // never throw without saying why
        var sorted = _errors
            .Select((e, i) => (e, i))
            .OrderBy(x => x.e.Location?.Line ?? 0)
            .ThenBy(x => x.e.Location?.Column ?? 0)
            .ThenBy(x => x.i)
            .Select(x => x.e)
            .ToList();
        return new RegoException(sorted);
    }

    // ------------------------------------------------------------------ term construction

    private static VarTerm Var(string name, RegoLocation loc) => new() { Name = name, Location = loc };

    private static ScalarTerm Scalar(Value v, RegoLocation loc) => new() { Value = v, Location = loc };

    private static RefTerm OpRef(string name, RegoLocation loc) => new() { Head = Var(name, loc), Path = [], Location = loc };

    private static RefTerm MemberRef(bool withKey, RegoLocation loc) => new()
    {
        Head = Var("internal", loc),
        Path = [Scalar(new StringValue(withKey ? "member_3" : "member_2"), loc)],
        Location = loc,
    };

    private static CallTerm Call(RefTerm op, RegoLocation loc, params Term[] args) => new() { Operator = op, Args = args, Location = loc };

    private static string? BinaryOpName(TokenKind k) => k switch
    {
        TokenKind.Equal => "equal",
        TokenKind.Neq => "neq",
        TokenKind.Lt => "lt",
        TokenKind.Lte => "lte",
        TokenKind.Gt => "gt",
        TokenKind.Gte => "gte",
        TokenKind.Or => "or",
        TokenKind.And => "and",
        TokenKind.Add => "plus",
        TokenKind.Sub => "minus",
        TokenKind.Mul => "mul",
        TokenKind.Quo => "div",
        TokenKind.Rem => "rem",
        _ => null,
    };

    private static int Precedence(TokenKind k) => k switch
    {
        TokenKind.Equal or TokenKind.Neq or TokenKind.Lt or TokenKind.Lte or TokenKind.Gt or TokenKind.Gte => PrecRelation,
        TokenKind.Or => PrecOr,
        TokenKind.And => PrecAnd,
        TokenKind.Add or TokenKind.Sub => PrecArith,
        TokenKind.Mul or TokenKind.Quo or TokenKind.Rem => PrecFactor,
        _ => 0,
    };

    /// <summary>OPA's ValueName of a term, as used in messages ("number cannot be used for rule name").</summary>
    internal static string ValueName(Term t) => t switch
    {
        ScalarTerm { Value: NullValue } => "null",
        ScalarTerm { Value: BooleanValue } => "boolean",
        ScalarTerm { Value: NumberValue } => "number",
        ScalarTerm { Value: StringValue } => "string",
        ScalarTerm => "scalar",
        VarTerm => "var",
        RefTerm => "ref",
        ArrayTerm => "array",
        ObjectTerm => "object",
        SetTerm => "set",
        ArrayComprehensionTerm => "arraycomprehension",
        ObjectComprehensionTerm => "objectcomprehension",
        SetComprehensionTerm => "setcomprehension",
        CallTerm => "call",
        _ => "term",
    };

    /// <summary>True for <c>internal.member_2(x, xs)</c> / <c>internal.member_3(k, v, xs)</c> (what <c>in</c> parses to).</summary>
    private static bool IsMemberCall(Term t, out Term? key, out Term value, out Term collection)
    {
        key = null;
        value = collection = t;
        if (t is not CallTerm c || c.Operator.Head is not VarTerm { Name: "internal" } || c.Operator.Path.Count != 1
            || c.Operator.Path[0] is not ScalarTerm { Value: StringValue s })
            return false;
        if (s.Value == "member_2" && c.Args.Count == 2)
        {
            value = c.Args[0];
            collection = c.Args[1];
            return true;
        }
        if (s.Value == "member_3" && c.Args.Count == 3)
        {
            key = c.Args[0];
            value = c.Args[1];
            collection = c.Args[2];
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ entry points

    public Module ParseModule()
    {
        RefTerm? package = null;
        RegoLocation? moduleLoc = null;
        var imports = new List<Import>();
        var rules = new List<Rule>();
        bool first = true;

        while (Kind != TokenKind.Eof)
        {
            int start = _pos;
            var stmtTok = Tok;
            bool ok;
            if (Kind == TokenKind.Package && !KeywordAsRefHead(_pos))
            {
                var p = ParsePackage();
                ok = p is not null;
                if (p is not null)
                {
                    if (first) { package = p; moduleLoc = Loc(stmtTok); }
                    else Error(stmtTok, "unexpected package");
                }
            }
            else
            {
                if (first) Error(stmtTok, "package expected");
                ok = Kind == TokenKind.Import && !KeywordAsRefHead(_pos) ? ParseImport(imports) : ParseRuleStatement(rules);
            }
            first = false;
            if (!ok) Recover(start, stmtTok.Column);
        }

        if (first) Error(new RegoLocation(_file, 1, 1), "empty module");
        if (_errors.Count > 0) throw Fail();

        var module = new Module
        {
            Location = moduleLoc!,
            Package = package!,
            Imports = imports,
            Rules = rules,
            File = _file,
        };
        foreach (var r in rules)
            for (var x = r; x is not null; x = x.Else)
                x.Module = module;
        return module;
    }

    public Body ParseQuery()
    {
        var first = Tok;
        var exprs = new List<Expr>();
        while (Kind != TokenKind.Eof)
        {
            var e = ParseLiteral();
            if (e is null) break;
            exprs.Add(e);
            if (Kind == TokenKind.Semicolon) Advance();
        }
        if (_errors.Count == 0 && exprs.Count == 0) Error(first, "empty query");
        if (_errors.Count > 0) throw Fail();
        return new Body { Exprs = exprs, Location = Loc(first) };
    }

    public Term ParseSingleTerm()
    {
        var first = Tok;
        Term? t = null;
        if (Kind == TokenKind.Eof) Error(first, "empty term");
        else
        {
            t = ParseInfix(keyVal: false);
            if (t is not null && Kind != TokenKind.Eof) Illegal("expected end of term");
        }
        if (_errors.Count > 0 || t is null) throw Fail();
        return t;
    }

    /// <summary>After a failed statement, skip to the next line that starts at or left of the statement's column,
    /// so that the errors of later statements are reported too.</summary>
    private void Recover(int stmtStart, int column)
    {
        int i = Math.Max(stmtStart + 1, 0);
        while (i < _toks.Length - 1)
        {
            ref readonly var t = ref _toks[i];
            // A statement starts with a name (or default/package/import), never with a closing bracket.
            if (t.NewlineBefore && t.Column <= column
                && t.Kind is TokenKind.Ident or TokenKind.Default or TokenKind.Package or TokenKind.Import) break;
            i++;
        }
        _pos = Math.Min(i, _toks.Length - 1);
    }

    // ------------------------------------------------------------------ package and imports

    private RefTerm? ParsePackage()
    {
        var pkgTok = Tok;
        Advance();
        if (Kind != TokenKind.Ident && !KeywordAsRefHead(_pos))
        {
            Illegal();
            return null;
        }
        var term = ParseTerm();
        if (term is null) return null;
        var path = new List<Term>();
        switch (term)
        {
            case VarTerm v:
                path.Add(Scalar(new StringValue(v.Name), v.Location));
                break;
            case RefTerm r:
                if (r.Head is not VarTerm hv)
                {
                    Error(r.Head.Location, $"unexpected {ValueName(r.Head)} token: expecting var");
                    return null;
                }
                path.Add(Scalar(new StringValue(hv.Name), hv.Location));
                foreach (var p in r.Path)
                {
                    if (p is not ScalarTerm { Value: StringValue })
                    {
                        Error(p.Location, $"unexpected {ValueName(p)} token: expecting string");
                        return null;
                    }
                    path.Add(p);
                }
                break;
            default:
                Error(term.Location, $"unexpected {ValueName(term)} token: expecting var");
                return null;
        }
        return new RefTerm { Head = Var("data", term.Location), Path = path, Location = term.Location };
    }

    private static readonly string[] FutureKeywords = ["contains", "every", "if", "in", "not"];

    private bool ParseImport(List<Import> imports)
    {
        var impTok = Tok;
        Advance();
        // In import paths the v1 keywords in/every/contains/if are plain names (OPA parses them without keywords).
        if (Kind is not (TokenKind.Ident or TokenKind.In or TokenKind.Every or TokenKind.Contains or TokenKind.If) && !KeywordAsRefHead(_pos))
        {
            Illegal();
            return false;
        }
        Term? term;
        if (Kind is TokenKind.In or TokenKind.Every or TokenKind.Contains or TokenKind.If)
        {
            var v = Var(TextOf(Tok), Loc(Tok));
            Advance();
            term = ParseTermFinish(v);
        }
        else term = ParseTerm();
        if (term is null) return false;

        RefTerm path;
        switch (term)
        {
            case VarTerm v:
                path = new RefTerm { Head = v, Path = [], Location = v.Location };
                break;
            case RefTerm r when r.Head is VarTerm:
                foreach (var p in r.Path)
                {
                    if (p is not ScalarTerm { Value: StringValue })
                    {
                        Error(p.Location, $"unexpected {ValueName(p)} token: expecting string");
                        return false;
                    }
                }
                path = r;
                break;
            default:
                Error(term.Location, "expected path");
                return false;
        }

        var root = ((VarTerm)path.Head).Name;
        if (root is not ("data" or "input" or "future" or "rego"))
        {
            Error(path.Location, $"unexpected import path, must begin with one of: {{data, future, input, rego}}, got: {root}");
            return false;
        }

        string? alias = null;
        if (Kind == TokenKind.As)
        {
            Advance();
            if (Kind != TokenKind.Ident || KeywordAsRefHead(_pos) || (!_toks[_pos + 1].SpaceBefore && PeekKind is TokenKind.Dot or TokenKind.LBrack or TokenKind.LParen))
            {
                Illegal("expected var");
                return false;
            }
            alias = TextOf(Tok);
            Advance();
        }

        string PathText()
        {
            var sb = new System.Text.StringBuilder(root);
            foreach (var p in path.Path) sb.Append('.').Append(((StringValue)((ScalarTerm)p).Value).Value);
            return sb.ToString();
        }

        if (root == "future")
        {
            if (path.Path.Count == 0 || ((StringValue)((ScalarTerm)path.Path[0]).Value).Value != "keywords")
            {
                Error(path.Location, "invalid import, must be `future.keywords`");
                return false;
            }
            if (alias is not null)
            {
                Error(path.Location, "`future` imports cannot be aliased");
                return false;
            }
            if (path.Path.Count == 2 && Array.IndexOf(FutureKeywords, ((StringValue)((ScalarTerm)path.Path[1]).Value).Value) < 0)
            {
                Error(path.Location, "unexpected keyword, must be one of [contains every if in not]");
                return false;
            }
            // `import future.keywords` (all) or `.not` turns on OPA 1.17's improved negation for this module.
            if (path.Path.Count == 1 || ((StringValue)((ScalarTerm)path.Path[1]).Value).Value == "not") _improvedNot = true;
            return true; // the v0 future keywords are always on in v1: accepted and dropped
        }
        if (root == "rego")
        {
            var version = path.Path.Count == 1 ? ((StringValue)((ScalarTerm)path.Path[0]).Value).Value : "";
            if (version is not ("v1" or "v2"))
            {
                Error(path.Location, $"invalid import `{PathText()}`, must be `rego.v1` or `rego.v2`");
                return false;
            }
            // rego.v1 is a no-op in v1; rego.v2 (OPA's preview) turns on improved negation.
            if (version == "v2") _improvedNot = true;
            return true;
        }

        if (alias is null)
        {
            var last = path.Path.Count == 0 ? root : ((StringValue)((ScalarTerm)path.Path[^1]).Value).Value;
            if (Lexer.IsKeywordName(last))
            {
                Error(path.Path.Count == 0 ? path.Location : path.Path[^1].Location,
                    $"unexpected import path, must not end with a keyword, got: {last}");
                return false;
            }
        }

        imports.Add(new Import { Location = Loc(impTok), Path = path, Alias = alias });
        return true;
    }

    // ------------------------------------------------------------------ rules

    /// <summary>A rule head while it is being parsed (the AST's head is immutable).</summary>
    private sealed class HeadParts
    {
        public required VarTerm Name;
        public required List<Term> Path;
        public IReadOnlyList<Term>? Args;
        public Term? Key;
        public Term? Value;
        public bool Assign;
        public bool UsesContains;
        public bool GeneratedValue;
        public required RegoLocation Location;
        public bool IsFunction => Args is not null;
        public string Kind => Args is not null ? "function" : "rule";

        public string RefText()
        {
            var sb = new System.Text.StringBuilder(Name.Name);
            foreach (var p in Path)
            {
                if (p is ScalarTerm { Value: StringValue s }) sb.Append('.').Append(s.Value);
                else if (p is VarTerm v) sb.Append('[').Append(v.Name).Append(']');
                else sb.Append("[...]");
            }
            return sb.ToString();
        }
    }

    private RuleHead BuildHead(HeadParts h, RegoLocation loc, Term? value, bool assign) => new()
    {
        Location = loc,
        Ref = new RefTerm { Head = h.Name, Path = h.Path, Location = h.Name.Location },
        Args = h.Args,
        Key = h.Key,
        Value = value,
        Assign = assign,
    };

    private static Body TrueBody(RegoLocation loc) => new()
    {
        Location = loc,
        Exprs = [new TermExpr { Term = Scalar(Value.True, loc), Location = loc, Text = "true" }],
    };

    /// <summary>Parses a rule statement (or reports why a statement is not one). False when the statement
    /// could not be parsed (the caller skips ahead); rule-level errors that do not stop parsing are recorded
    /// and true is returned.</summary>
    private bool ParseRuleStatement(List<Rule> rules)
    {
        var ruleTok = Tok;
        var ruleLoc = Loc(ruleTok);
        bool isDefault = false;
        if (Kind == TokenKind.Default && !KeywordAsRefHead(_pos))
        {
            Advance();
            isDefault = true;
        }
        if (Kind != TokenKind.Ident && !KeywordAsRefHead(_pos))
        {
            if (isDefault)
            {
                Illegal();
                return false;
            }
            return ParseNonRuleStatement();
        }

        var h = ParseHead(isDefault);
        if (h is null) return false;

        if (isDefault)
        {
            if (!ValidateDefault(h, ruleLoc)) return true;
            rules.Add(new Rule { Location = ruleLoc, IsDefault = true, Head = BuildHead(h, h.Location, h.Value, h.Assign), Body = TrueBody(ruleLoc) });
            CheckKeywordName(h, ruleLoc);
            return true;
        }

        bool hasIf = Kind == TokenKind.If;
        if (hasIf && !h.UsesContains && h.Path.Count == 1 && h.Value is null)
        {
            h.GeneratedValue = true;
            h.Value = Scalar(Value.True, h.Location);
        }
        if (!hasIf && !h.UsesContains && h.Args is null && h.Path.Count == 1 && h.Value is null)
        {
            // v0's `p[x] { ... }` / bare `p[x]`: a partial set (an error in v1: `contains` is required).
            h.Key = h.Path[0];
            h.Path = [];
        }

        Body body;
        bool bodyNeedsIf = false;
        if (hasIf)
        {
            Advance();
            var s = Save();
            bool startsWithBrace = Kind == TokenKind.LBrace;
            var lit = ParseLiteral();
            if (lit is not null && !(lit is TermExpr { Term: SetTerm }))
            {
                body = new Body { Exprs = [lit], Location = lit.Location };
            }
            else if (lit is null && !startsWithBrace)
            {
                return false; // keep the literal's errors
            }
            else
            {
                // `if { ... }`: the braces are a body, not a set.
                Restore(s);
                Advance();
                var b = ParseBody(TokenKind.RBrace);
                if (b is null) return false;
                Advance();
                body = b;
            }
        }
        else if (Kind == TokenKind.LBrace)
        {
            Advance();
            var b = ParseBody(TokenKind.RBrace);
            if (b is null) return false;
            Advance();
            body = b;
            bodyNeedsIf = true;
        }
        else
        {
            return FinishBodilessRule(h, ruleLoc, rules);
        }

        Rule? elseRule = null;
        if (Kind == TokenKind.Else && !KeywordAsRefHead(_pos))
        {
            if (h.Path.Count > 0 && !h.Path.All(IsGround))
            {
                Error(Tok, "else keyword cannot be used on rules with variables in head");
                return false;
            }
            if (h.Key is not null)
            {
                Error(Tok, "else keyword cannot be used on multi-value rules");
                return false;
            }
            elseRule = ParseElse(h);
            if (elseRule is null) return false;
        }

        var rule = new Rule { Location = ruleLoc, Head = BuildHead(h, h.Location, h.Value, h.Assign), Body = body, Else = elseRule };
        rules.Add(rule);
        CheckRule(h, ruleLoc, generatedBody: false, bodyNeedsIf);

        // `p if { a } { b }`: further bodies define more rules with the same head.
        while (Kind == TokenKind.LBrace)
        {
            if (elseRule is not null)
            {
                Error(Tok, "expected else keyword");
                return false;
            }
            var braceLoc = Loc(Tok);
            Advance();
            var b = ParseBody(TokenKind.RBrace);
            if (b is null) return false;
            Advance();
            rules.Add(new Rule { Location = braceLoc, Head = BuildHead(h, braceLoc, h.Value, h.Assign), Body = b });
            CheckRule(h, braceLoc, generatedBody: false, bodyNeedsIf: bodyNeedsIf);
        }
        return true;
    }

    /// <summary>A rule without body: <c>p := 1</c>, <c>p.q[r] = 2</c>, <c>f(x) := x</c>, <c>p contains 1</c>,
    /// bare <c>f(x)</c> (value true); bare <c>p</c> or <c>p.q.r</c> are errors, as in OPA.</summary>
    private bool FinishBodilessRule(HeadParts h, RegoLocation ruleLoc, List<Rule> rules)
    {
        if (!h.UsesContains && h.Args is null && h.Path.Count == 0 && h.Key is null && h.GeneratedValue)
        {
            Error(ruleLoc, "var cannot be used for rule name");
            return true;
        }
        // A bare call `f(x)` defines a function returning true (OPA parses it as an expression statement).
        if (h.Args is not null && h.GeneratedValue) h.GeneratedValue = false;
        var rule = new Rule { Location = ruleLoc, Head = BuildHead(h, h.Location, h.Value, h.Assign), Body = TrueBody(ruleLoc) };
        rules.Add(rule);
        CheckRule(h, ruleLoc, generatedBody: true, bodyNeedsIf: false);
        return true;
    }

    /// <summary>Rego v1 checks OPA makes on every parsed rule.</summary>
    private void CheckRule(HeadParts h, RegoLocation loc, bool generatedBody, bool bodyNeedsIf)
    {
        CheckKeywordName(h, loc);
        if (generatedBody && h.GeneratedValue)
            Error(loc, $"{h.Kind} must have value assignment and/or body declaration");
        if (bodyNeedsIf)
            Error(loc, $"`if` keyword is required before {h.Kind} body");
        if (h.Key is not null && h.Value is null && !h.UsesContains)
            Error(loc, "`contains` keyword is required for partial set rules");
    }

    private void CheckKeywordName(HeadParts h, RegoLocation loc)
    {
        if (Lexer.IsKeywordName(h.Name.Name))
            Error(loc, $"{h.Name.Name} keyword cannot be used for rule name");
    }

    private bool ValidateDefault(HeadParts h, RegoLocation loc)
    {
        if (h.Value is null)
        {
            Error(loc, "illegal default rule (must have a value)");
            return false;
        }
        var bad = FindVarRefOrCall(h.Value);
        if (bad is not null)
        {
            Error(loc, $"illegal default rule (value cannot contain {bad})");
            return false;
        }
        if (h.Args is not null)
        {
            var seen = new HashSet<string>();
            foreach (var a in h.Args)
            {
                if (a is not VarTerm v)
                {
                    Error(loc, $"illegal default rule (arguments cannot contain {ValueName(a)})");
                    return false;
                }
                if (!v.IsWildcard && !seen.Add(v.Name))
                {
                    Error(loc, $"illegal default rule (arguments cannot be repeated {v.Name})");
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>"var", "ref" or "call" when the term contains one outside comprehensions, else null.</summary>
    private static string? FindVarRefOrCall(Term t)
    {
        switch (t)
        {
            case VarTerm: return "var";
            case RefTerm: return "ref";
            case CallTerm: return "call";
            case ArrayTerm a:
                foreach (var x in a.Items) if (FindVarRefOrCall(x) is { } r) return r;
                return null;
            case SetTerm s:
                foreach (var x in s.Items) if (FindVarRefOrCall(x) is { } r) return r;
                return null;
            case ObjectTerm o:
                foreach (var kv in o.Items)
                {
                    if (FindVarRefOrCall(kv.Key) is { } r1) return r1;
                    if (FindVarRefOrCall(kv.Value) is { } r2) return r2;
                }
                return null;
            default: return null;
        }
    }

    /// <summary>True when the term contains no variable (refs count as non-ground: their head is a var).</summary>
    private static bool IsGround(Term t)
    {
        switch (t)
        {
            case ScalarTerm: return true;
            case ArrayTerm a: return a.Items.All(IsGround);
            case SetTerm s: return s.Items.All(IsGround);
            case ObjectTerm o: return o.Items.All(kv => IsGround(kv.Key) && IsGround(kv.Value));
            default: return false;
        }
    }

    private HeadParts? ParseHead(bool isDefault)
    {
        var nameTok = Tok;
        var loc = Loc(nameTok);
        var name = Var(TextOf(nameTok), loc);
        Advance();
        // `p+1 ...` is not a rule head (OPA rejects an operator glued to the name).
        if (!Tok.SpaceBefore && Precedence(Kind) > 0)
        {
            Illegal();
            return null;
        }
        Term t = name;
        if (Kind is TokenKind.LParen or TokenKind.Dot or TokenKind.LBrack)
        {
            var r = ParseRef(name, allowSpaceFirst: true);
            if (r is null) return null;
            t = r;
        }

        var h = new HeadParts { Name = name, Path = [], Location = loc };
        switch (t)
        {
            case VarTerm:
                break;
            case RefTerm r when ReferenceEquals(r.Head, name):
                h.Path = r.Path as List<Term> ?? r.Path.ToList();
                break;
            case CallTerm c when ReferenceEquals(c.Operator.Head, name):
                h.Path = c.Operator.Path as List<Term> ?? c.Operator.Path.ToList();
                h.Args = c.Args;
                break;
            default:
                Error(t.Location, $"unexpected {ValueName(t)} token: expected rule head name");
                return null;
        }

        switch (Kind)
        {
            case TokenKind.Contains:
                if (h.Args is not null)
                {
                    Illegal($"the contains keyword can only be used with multi-value rule definitions (e.g., {h.RefText()} contains <VALUE> {{ ... }})");
                    return null;
                }
                Advance();
                h.Key = ParseInfix(keyVal: true);
                if (h.Key is null)
                {
                    Illegal($"expected rule key term (e.g., {h.RefText()} contains <VALUE> {{ ... }})");
                    return null;
                }
                h.UsesContains = true;
                return h;
            case TokenKind.Unify:
                Advance();
                h.Value = ParseInfix(keyVal: true);
                if (h.Value is null)
                {
                    Illegal($"expected rule value term (e.g., {h.RefText()} = <VALUE> {{ ... }})");
                    return null;
                }
                break;
            case TokenKind.Assign:
                Advance();
                h.Assign = true;
                h.Value = ParseInfix(keyVal: true);
                if (h.Value is null)
                {
                    // OPA's hint depends on the kind of rule being defined.
                    Illegal(h.Args is not null ? $"expected function value term (e.g., {h.RefText()}(...) := <VALUE> {{ ... }})"
                        : h.Path.Count > 0 ? $"expected partial rule value term (e.g., {h.RefText()} := <VALUE> {{ ... }})"
                        : isDefault ? $"expected default rule value term (e.g., default {h.RefText()} := <VALUE>)"
                        : $"expected rule value term (e.g., {h.RefText()} := <VALUE> {{ ... }})");
                    return null;
                }
                break;
        }

        if (h.Value is null && (h.Path.Count != 1 || h.Args is not null))
        {
            h.GeneratedValue = true;
            h.Value = Scalar(Value.True, loc);
        }
        return h;
    }

    /// <summary>
    /// Parses <c>else [= v | := v] [if] body</c> clauses, iteratively (a chain may be long); the current token is
    /// the first <c>else</c>. Returns the first else rule, linked to the next ones. At most
    /// <see cref="RegoParser.MaxNestingDepth"/> clauses: consumers walk the chain.
    /// </summary>
    private Rule? ParseElse(HeadParts h)
    {
        var clauses = new List<(RegoLocation Loc, Term Value, bool Assign, Body Body)>();
        while (Kind == TokenKind.Else && !KeywordAsRefHead(_pos))
        {
            if (clauses.Count >= RegoParser.MaxNestingDepth)
            {
                Error(Tok, "max parsing recursion depth exceeded");
                return null;
            }
            var elseLoc = Loc(Tok);
            Advance();
            Term? value;
            bool assign = false;
            switch (Kind)
            {
                case TokenKind.LBrace:
                case TokenKind.If:
                    value = Scalar(Value.True, elseLoc);
                    break;
                case TokenKind.Assign:
                case TokenKind.Unify:
                    assign = Kind == TokenKind.Assign;
                    Advance();
                    value = ParseInfix(keyVal: true);
                    if (value is null) return null;
                    break;
                default:
                    Illegal("expected else value term or rule body");
                    return null;
            }

            bool hasIf = Kind == TokenKind.If, hasBrace = Kind == TokenKind.LBrace;
            Body body;
            if (!hasIf && !hasBrace)
            {
                body = TrueBody(elseLoc);
            }
            else
            {
                if (hasIf) Advance();
                if (Kind == TokenKind.LBrace)
                {
                    Advance();
                    var b = ParseBody(TokenKind.RBrace);
                    if (b is null) return null;
                    Advance();
                    body = b;
                }
                else if (Kind != TokenKind.Eof)
                {
                    var lit = ParseLiteral();
                    if (lit is null) return null;
                    body = new Body { Exprs = [lit], Location = lit.Location };
                }
                else
                {
                    Illegal("rule body expected");
                    return null;
                }
            }
            if (hasBrace && !hasIf) Error(elseLoc, $"`if` keyword is required before {h.Kind} body");
            clauses.Add((elseLoc, value, assign, body));
        }

        Rule? next = null;
        for (int i = clauses.Count - 1; i >= 0; i--)
        {
            var c = clauses[i];
            next = new Rule { Location = c.Loc, Head = BuildHead(h, c.Loc, c.Value, c.Assign), Body = c.Body, Else = next };
        }
        return next;
    }

    /// <summary>A module statement that does not start with a name: OPA parses it as an expression and then
    /// explains why it cannot be a rule.</summary>
    private bool ParseNonRuleStatement()
    {
        var lit = ParseLiteral();
        if (lit is null) return false;
        string msg = lit switch
        {
            { With.Count: > 0 } => "expressions using with keyword cannot be used for rule head",
            { Negated: true } => "negated expressions cannot be used for rule head",
            SomeDeclExpr or SomeInExpr => "'some' declarations cannot be used for rule head",
            TermExpr { Term: CallTerm c } when IsOperatorName(c.Name) => "rule name conflicts with built-in function",
            TermExpr { Term: CallTerm { Operator.Head: VarTerm { Name: var n } } } when Lexer.IsKeywordName(n) => $"{n} keyword cannot be used for rule name",
            TermExpr { Term: var t } => $"{ValueName(t)} cannot be used for rule name",
            UnifyExpr { Left: VarTerm { Name: var n } } when Lexer.IsKeywordName(n) => $"{n} keyword cannot be used for rule name",
            AssignExpr { Left: VarTerm { Name: var n } } when Lexer.IsKeywordName(n) => $"{n} keyword cannot be used for rule name",
            UnifyExpr u => $"{ValueName(u.Left)} cannot be used for rule name",
            AssignExpr a => $"{ValueName(a.Left)} cannot be used for rule name",
            _ => "expression cannot be used for rule head",
        };
        Error(lit.Location, msg);
        return true;
    }

    private static bool IsOperatorName(string n) => n is "equal" or "neq" or "lt" or "lte" or "gt" or "gte" or "or" or "and"
        or "plus" or "minus" or "mul" or "div" or "rem" or "internal.member_2" or "internal.member_3";

    // ------------------------------------------------------------------ bodies and expressions

    private Body? ParseBody(TokenKind end)
    {
        if (!Enter()) return null;
        try
        {
            var first = Tok;
            if (Kind == end)
            {
                Error(first, "found empty body");
                return null;
            }
            int errorsAtStart = _errors.Count;
            var exprs = new List<Expr>();
            while (true)
            {
                var e = ParseLiteral();
                if (e is null) return null;
                exprs.Add(e);
                if (Kind == TokenKind.Semicolon)
                {
                    Advance();
                    continue;
                }
                if (Kind == end) return new Body { Exprs = exprs, Location = Loc(first) };
                if (!Tok.NewlineBefore)
                {
                    if (_errors.Count == errorsAtStart) Illegal($"expected \\n or ; or {Lexer.Describe(end)}");
                    return null;
                }
            }
        }
        finally
        {
            _depth--;
        }
    }

    private enum ExprKind : byte { Term, Unify, Assign, SomeDecl, SomeIn, Every }

    /// <summary>One literal: [<c>not</c>] expression [<c>with</c> ...].</summary>
    private Expr? ParseLiteral()
    {
        var first = Tok;
        var loc = Loc(first);
        bool negated = false;
        if (Kind == TokenKind.Not && !KeywordAsRefHead(_pos))
        {
            Advance();
            negated = true;
        }

        ExprKind kind;
        Term? a = null, b = null, c = null;
        Body? everyBody = null;
        List<VarTerm>? vars = null;
        bool allowWith = true;

        if (negated && _improvedNot && Kind == TokenKind.LBrace)
        {
            Advance();
            var notBody = ParseBody(TokenKind.RBrace);
            if (notBody is null) return null;
            Advance();
            IReadOnlyList<WithModifier> nbWith = [];
            if (Kind == TokenKind.With)
            {
                var w = ParseWith();
                if (w is null) return null;
                nbWith = w;
            }
            return NegatedBody(notBody, nbWith, loc, _src.Substring(first.Start, Math.Max(0, LastEnd - first.Start)));
        }

        if (Kind == TokenKind.Some && !KeywordAsRefHead(_pos))
        {
            if (negated)
            {
                Illegal("illegal negation of 'some'");
                return null;
            }
            var s = Save();
            Advance();
            var term = ParseInfix(keyVal: true);
            if (term is CallTerm)
            {
                if (!IsMemberCall(term, out var key, out var value, out var coll))
                {
                    Illegal("expected `x in xs` or `x, y in xs` expression");
                    return null;
                }
                kind = ExprKind.SomeIn;
                a = key;
                b = value;
                c = coll;
            }
            else
            {
                Restore(s);
                vars = new List<VarTerm>();
                while (true)
                {
                    Advance();
                    if (Kind != TokenKind.Ident)
                    {
                        Illegal("expected var");
                        return null;
                    }
                    vars.Add(Var(TextOf(Tok), Loc(Tok)));
                    Advance();
                    if (Kind != TokenKind.Comma) break;
                }
                kind = ExprKind.SomeDecl;
                allowWith = false;
            }
        }
        else if (Kind == TokenKind.Every && !KeywordAsRefHead(_pos))
        {
            if (negated)
            {
                Illegal("illegal negation of 'every'");
                return null;
            }
            Advance();
            var term = ParseInfix(keyVal: true);
            if (term is null) return null;
            if (!IsMemberCall(term, out var key, out var value, out var coll))
            {
                Illegal("expected `x[, y] in xs { ... }` expression");
                return null;
            }
            if (key is not null && key is not VarTerm)
            {
                Illegal("expected key to be a variable");
                return null;
            }
            if (value is not VarTerm)
            {
                Illegal("expected value to be a variable");
                return null;
            }
            if (Kind != TokenKind.LBrace)
            {
                Illegal("missing body");
                return null;
            }
            Advance();
            everyBody = ParseBody(TokenKind.RBrace);
            if (everyBody is null) return null;
            Advance();
            kind = ExprKind.Every;
            a = key;
            b = value;
            c = coll;
        }
        else
        {
            var lhs = ParseInfix(keyVal: true);
            if (lhs is null) return null;
            if (Kind is TokenKind.Assign or TokenKind.Unify)
            {
                kind = Kind == TokenKind.Assign ? ExprKind.Assign : ExprKind.Unify;
                Advance();
                var rhs = ParseInfix(keyVal: true);
                if (rhs is null) return null;
                a = lhs;
                b = rhs;
            }
            else
            {
                kind = ExprKind.Term;
                a = lhs;
            }
        }

        IReadOnlyList<WithModifier> withs = [];
        if (allowWith && Kind == TokenKind.With)
        {
            var w = ParseWith();
            if (w is null) return null;
            withs = w;
        }

        var text = _src.Substring(first.Start, Math.Max(0, LastEnd - first.Start));
        if (negated && _improvedNot && kind is ExprKind.Term or ExprKind.Unify or ExprKind.Assign
            && (ContainsCall(a!) || (b is not null && ContainsCall(b))))
        {
            // Improved negation: the expression's nested calls are evaluated inside the negation.
            Expr inner = kind switch
            {
                ExprKind.Term => new TermExpr { Term = a!, Text = text, Location = loc },
                ExprKind.Unify => new UnifyExpr { Left = a!, Right = b!, Text = text, Location = loc },
                _ => new AssignExpr { Left = a!, Right = b!, Text = text, Location = loc },
            };
            return NegatedBody(new Body { Exprs = [inner], Location = loc }, withs, loc, text);
        }
        return kind switch
        {
            ExprKind.Term => new TermExpr { Term = a!, Negated = negated, With = withs, Text = text, Location = loc },
            ExprKind.Unify => new UnifyExpr { Left = a!, Right = b!, Negated = negated, With = withs, Text = text, Location = loc },
            ExprKind.Assign => new AssignExpr { Left = a!, Right = b!, Negated = negated, With = withs, Text = text, Location = loc },
            ExprKind.SomeDecl => new SomeDeclExpr { Vars = vars!, Text = text, Location = loc },
            ExprKind.SomeIn => new SomeInExpr { Key = a, Value = b!, Collection = c!, With = withs, Text = text, Location = loc },
            _ => new EveryExpr { Key = a, Value = b!, Collection = c!, Body = everyBody!, With = withs, Text = text, Location = loc },
        };
    }

    /// <summary><c>not { body }</c> as <c>count([true | body]) == 0</c>: true exactly when the body has no solution.</summary>
    private static TermExpr NegatedBody(Body body, IReadOnlyList<WithModifier> withs, RegoLocation loc, string text)
    {
        var comprehension = new ArrayComprehensionTerm { Head = Scalar(Value.True, loc), Body = body, Location = loc };
        var count = Call(OpRef("count", loc), loc, comprehension);
        return new TermExpr { Term = Call(OpRef("equal", loc), loc, count, Scalar(NumberValue.Zero, loc)), With = withs, Text = text, Location = loc };
    }

    /// <summary>True when a call occurs in the term outside comprehensions (those get their own body).</summary>
    private static bool ContainsCall(Term t)
    {
        switch (t)
        {
            case CallTerm: return true;
            case RefTerm r: return ContainsCall(r.Head) || r.Path.Any(ContainsCall);
            case ArrayTerm a: return a.Items.Any(ContainsCall);
            case SetTerm s: return s.Items.Any(ContainsCall);
            case ObjectTerm o: return o.Items.Any(kv => ContainsCall(kv.Key) || ContainsCall(kv.Value));
            default: return false;
        }
    }

    private List<WithModifier>? ParseWith()
    {
        var list = new List<WithModifier>();
        while (true)
        {
            var withTok = Tok;
            Advance();
            if (Kind != TokenKind.Ident)
            {
                Illegal("expected ident");
                return null;
            }
            var target = ParseTerm();
            if (target is null) return null;
            if (target is not (RefTerm or VarTerm)) Illegal("expected with target path");
            if (Kind != TokenKind.As)
            {
                Illegal("expected as keyword");
                return null;
            }
            Advance();
            var value = ParseInfix(keyVal: true);
            if (value is null) return null;
            list.Add(new WithModifier { Target = target, Value = value, Location = Loc(withTok) });
            if (Kind != TokenKind.With) return list;
        }
    }

    // ------------------------------------------------------------------ terms and operators

    /// <summary>
    /// A term with infix operators. With <paramref name="keyVal"/>, <c>k, v in xs</c> is accepted
    /// (<c>internal.member_3</c>); inside lists (call arguments, array/set/object items) it is not.
    /// </summary>
    private Term? ParseInfix(bool keyVal)
    {
        if (!Enter()) return null;
        try
        {
            var lhs = ParseBinary(PrecRelation);
            if (lhs is null) return null;
            if (keyVal && Kind == TokenKind.Comma)
            {
                var s = Save();
                Advance();
                var mhs = ParseBinary(PrecRelation);
                bool done = false;
                if (mhs is not null && Kind == TokenKind.In && !KeywordAsRefHead(_pos))
                {
                    var inLoc = Loc(Tok);
                    Advance();
                    var rhs = ParseBinary(PrecRelation);
                    if (rhs is not null)
                    {
                        lhs = Call(MemberRef(true, inLoc), lhs.Location, lhs, mhs, rhs);
                        done = true;
                    }
                }
                if (!done) Restore(s);
            }
            int chain = 0;
            while (Kind == TokenKind.In && !KeywordAsRefHead(_pos))
            {
                if (++chain > RegoParser.MaxNestingDepth)
                {
                    Error(Tok, "max parsing recursion depth exceeded");
                    return null;
                }
                var inLoc = Loc(Tok);
                Advance();
                var rhs = ParseBinary(PrecRelation);
                if (rhs is null) return null;
                lhs = Call(MemberRef(false, inLoc), lhs.Location, lhs, rhs);
            }
            return lhs;
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>Precedence climbing over the binary operators at or above <paramref name="minPrec"/>.</summary>
    private Term? ParseBinary(int minPrec)
    {
        var lhs = ParseTerm();
        if (lhs is null) return null;
        // Left-associative chains build left-deep call trees; bound them like nesting so that whoever walks
        // the tree recursively stays within the stack.
        int chain = 0;
        while (true)
        {
            int prec = Precedence(Kind);
            if (prec == 0 || prec < minPrec) return lhs;
            if (++chain > RegoParser.MaxNestingDepth)
            {
                Error(Tok, "max parsing recursion depth exceeded");
                return null;
            }
            var opTok = Tok;
            Advance();
            var rhs = ParseBinary(prec + 1);
            if (rhs is null) return null;
            lhs = Call(OpRef(BinaryOpName(opTok.Kind)!, Loc(opTok)), lhs.Location, lhs, rhs);
        }
    }

    /// <summary>A single term (scalar, var, composite, parenthesized expression) followed by refs/calls.</summary>
    private Term? ParseTerm()
    {
        if (!Enter()) return null;
        try
        {
            if (Kind is not (TokenKind.LBrack or TokenKind.LBrace or TokenKind.LParen)) return ParseTermCore();
            int start = _pos;
            if (_termCache is not null && _termCache.TryGetValue(start, out var hit))
            {
                _pos = hit.Next;
                if (hit.Errors is not null) _errors.AddRange(hit.Errors);
                return hit.Term;
            }
            int errors = _errors.Count;
            var term = ParseTermCore();
            var added = _errors.Count > errors ? _errors.GetRange(errors, _errors.Count - errors).ToArray() : null;
            (_termCache ??= new())[start] = (term, _pos, added);
            return term;
        }
        finally
        {
            _depth--;
        }
    }

    private Term? ParseTermCore()
    {
        {
            var first = Tok;
            var loc = Loc(first);
            Term? term;
            switch (first.Kind)
            {
                case TokenKind.Null:
                    Advance();
                    term = Scalar(Value.Null, loc);
                    break;
                case TokenKind.True:
                    Advance();
                    term = Scalar(Value.True, loc);
                    break;
                case TokenKind.False:
                    Advance();
                    term = Scalar(Value.False, loc);
                    break;
                case TokenKind.Sub:
                case TokenKind.Dot:
                case TokenKind.Number:
                    term = ParseNumber();
                    break;
                case TokenKind.String:
                    term = Scalar(new StringValue(DecodeString(first)), loc);
                    Advance();
                    break;
                case TokenKind.RawString:
                    term = Scalar(new StringValue(_src.Substring(first.Start + 1, first.End - first.Start - 2)), loc);
                    Advance();
                    break;
                case TokenKind.Ident:
                case TokenKind.Contains: // `contains` is only special in rule heads; elsewhere it names the built-in
                    term = Var(TextOf(first), loc);
                    Advance();
                    break;
                case TokenKind.LBrack:
                    term = ParseArray();
                    break;
                case TokenKind.LBrace:
                    term = ParseSetOrObject();
                    break;
                case TokenKind.LParen:
                    Advance();
                    term = ParseInfix(keyVal: true);
                    if (term is not null)
                    {
                        if (Kind == TokenKind.RParen) Advance();
                        else
                        {
                            Error(Tok, "non-terminated expression");
                            term = null;
                        }
                    }
                    break;
                default:
                    if (KeywordAsRefHead(_pos))
                    {
                        term = Var(TextOf(first), loc);
                        Advance();
                    }
                    else
                    {
                        Illegal();
                        term = null;
                    }
                    break;
            }
            if (term is null) return null;
            return ParseTermFinish(term);
        }
    }

    /// <summary>Continues a term with an adjacent <c>.x</c>, <c>[x]</c> or <c>(args)</c>; a bare <c>data</c> or
    /// <c>input</c> becomes a ref with an empty path (as OPA does).</summary>
    private Term? ParseTermFinish(Term head)
    {
        if (!Tok.SpaceBefore && Kind is TokenKind.LParen or TokenKind.Dot or TokenKind.LBrack)
            return ParseRef(head, allowSpaceFirst: false);
        if (head is VarTerm { Name: "data" or "input" } v)
            return new RefTerm { Head = v, Path = [], Location = v.Location };
        return head;
    }

    private Term? ParseRef(Term head, bool allowSpaceFirst)
    {
        if (!Enter()) return null;
        try
        {
            var loc = head.Location;
            if (head is not (VarTerm or ArrayTerm or ObjectTerm or SetTerm or ArrayComprehensionTerm or ObjectComprehensionTerm
                or SetComprehensionTerm or CallTerm))
                Error(loc, $"illegal ref (head cannot be {ValueName(head)})");

            var path = new List<Term>();
            bool firstStep = true;
            while (true)
            {
                if (Tok.SpaceBefore && !(firstStep && allowSpaceFirst)) break;
                firstStep = false;
                switch (Kind)
                {
                    case TokenKind.Dot:
                        Advance();
                        if (Tok.SpaceBefore || !(Kind == TokenKind.Ident || Lexer.IsKeyword(Kind)))
                        {
                            Illegal("expected identifier");
                            return null;
                        }
                        path.Add(Scalar(new StringValue(TextOf(Tok)), Loc(Tok)));
                        Advance();
                        continue;
                    case TokenKind.LBrack:
                        {
                            Advance();
                            var t = ParseInfix(keyVal: true);
                            if (t is null) return null;
                            if (Kind != TokenKind.RBrack)
                            {
                                Illegal("expected ]");
                                return null;
                            }
                            path.Add(t);
                            Advance();
                            continue;
                        }
                    case TokenKind.LParen:
                        {
                            var op = path.Count == 0 && head is RefTerm hr ? hr : new RefTerm { Head = head, Path = path, Location = loc };
                            var call = ParseCall(op, loc);
                            if (call is null) return null;
                            if (!Tok.SpaceBefore && Kind is TokenKind.Dot or TokenKind.LBrack)
                                return ParseRef(call, allowSpaceFirst: false);
                            return call;
                        }
                }
                break;
            }
            if (path.Count == 0) return head;
            return new RefTerm { Head = head, Path = path, Location = loc };
        }
        finally
        {
            _depth--;
        }
    }

    private Term? ParseCall(RefTerm op, RegoLocation loc)
    {
        Advance(); // '('
        if (Kind == TokenKind.RParen)
        {
            Advance();
            if (op.Head is VarTerm { Name: "set" } && op.Path.Count == 0) return new SetTerm { Items = [], Location = loc };
            return new CallTerm { Operator = op, Args = [], Location = loc };
        }
        var args = ParseTermList(TokenKind.RParen, new List<Term>());
        if (args is null) return null;
        Advance();
        return new CallTerm { Operator = op, Args = args, Location = loc };
    }

    private Term? ParseNumber()
    {
        var first = Tok;
        var loc = Loc(first);
        bool negative = false, leadingDot = false;
        if (Kind == TokenKind.Sub)
        {
            Advance();
            if (Kind is not (TokenKind.Number or TokenKind.Dot))
            {
                // Unary minus on a non-literal: minus(0, x).
                var operand = ParseTerm();
                if (operand is null) return null;
                return Call(OpRef("minus", loc), loc, Scalar(NumberValue.Zero, loc), operand);
            }
            negative = true;
        }
        if (Kind == TokenKind.Dot)
        {
            Advance();
            if (Kind != TokenKind.Number)
            {
                Illegal("expected number");
                return null;
            }
            leadingDot = true;
        }
        if (Kind != TokenKind.Number)
        {
            Illegal("expected number");
            return null;
        }
        var numTok = Tok;
        var lit = _src.AsSpan(numTok.Start, numTok.End - numTok.Start);
        if (!leadingDot && lit.Length > 1 && lit[0] == '0' && lit[1] != '.' && !(lit.Length > 2 && (lit[1] | 0x20) == 'e'))
        {
            Illegal("expected number without leading zero");
            return null;
        }
        string text = (negative ? "-" : "") + (leadingDot ? "0." : "") + lit.ToString();
        // OPA refuses numbers with huge exponents or digit counts ("number too big").
        if (lit.Length > 30000 || !NumberValue.TryParse(text, out var n))
        {
            Error(numTok, "number too big");
            return null;
        }
        Advance();
        return Scalar(n, loc);
    }

    private string DecodeString(in Token t)
    {
        int start = t.Start + 1, end = t.End - 1;
        var span = _src.AsSpan(start, end - start);
        if (span.IndexOf('\\') < 0) return span.ToString();
        var sb = new System.Text.StringBuilder(span.Length);
        for (int i = 0; i < span.Length; i++)
        {
            char ch = span[i];
            if (ch != '\\')
            {
                sb.Append(ch);
                continue;
            }
            char e = span[++i];
            switch (e)
            {
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    {
                        char u = (char)Convert.ToUInt16(span.Slice(i + 1, 4).ToString(), 16);
                        i += 4;
                        if (char.IsHighSurrogate(u) && i + 6 < span.Length && span[i + 1] == '\\' && span[i + 2] == 'u')
                        {
                            char lo = (char)Convert.ToUInt16(span.Slice(i + 3, 4).ToString(), 16);
                            if (char.IsLowSurrogate(lo))
                            {
                                sb.Append(u).Append(lo);
                                i += 6;
                                break;
                            }
                        }
                        // A lone surrogate becomes U+FFFD, as Go's JSON decoder does.
                        sb.Append(char.IsSurrogate(u) ? '\uFFFD' : u);
                        break;
                    }
                default: sb.Append(e); break; // \" \\ \/
            }
        }
        return sb.ToString();
    }

    private Term? ParseArray()
    {
        var loc = Loc(Tok);
        Advance(); // '['
        if (Kind == TokenKind.RBrack)
        {
            Advance();
            return new ArrayTerm { Items = [], Location = loc };
        }
        bool potentialComprehension = true;
        if (Kind == TokenKind.Comma)
        {
            // OPA tolerates a leading comma ([, x]) for backwards compatibility.
            potentialComprehension = false;
            Advance();
        }
        var s = Save();
        // A single term first: `[a | b]` is a comprehension, not an array holding `a | b`.
        var head = ParseTerm();
        if (head is null) return null;
        switch (Kind)
        {
            case TokenKind.RBrack:
                Advance();
                return new ArrayTerm { Items = [head], Location = loc };
            case TokenKind.Comma:
                {
                    Advance();
                    var items = ParseTermList(TokenKind.RBrack, new List<Term> { head });
                    if (items is null) return null;
                    Advance();
                    return new ArrayTerm { Items = items, Location = loc };
                }
            case TokenKind.Or when potentialComprehension:
                {
                    Advance();
                    var body = ParseBody(TokenKind.RBrack);
                    if (body is not null)
                    {
                        Advance();
                        return new ArrayComprehensionTerm { Head = head, Body = body, Location = loc };
                    }
                    if (Kind != TokenKind.Comma) return null;
                    break;
                }
        }
        Restore(s);
        var all = ParseTermList(TokenKind.RBrack, new List<Term>());
        if (all is null) return null;
        Advance();
        return new ArrayTerm { Items = all, Location = loc };
    }

    private Term? ParseSetOrObject()
    {
        var loc = Loc(Tok);
        Advance(); // '{'
        if (Kind == TokenKind.RBrace)
        {
            Advance();
            return new ObjectTerm { Items = [], Location = loc };
        }
        bool potentialComprehension = true;
        if (Kind == TokenKind.Comma)
        {
            potentialComprehension = false;
            Advance();
        }
        var s = Save();
        var head = ParseTerm();
        if (head is null) return null;
        switch (Kind)
        {
            case TokenKind.Or when potentialComprehension:
                return ParseSet(s, head, true, loc);
            case TokenKind.RBrace:
            case TokenKind.Comma:
                return ParseSet(s, head, potentialComprehension, loc);
            case TokenKind.Colon:
                return ParseObject(head, potentialComprehension, loc);
        }
        Restore(s);
        head = ParseInfix(keyVal: false);
        if (head is null) return null;
        switch (Kind)
        {
            case TokenKind.RBrace:
            case TokenKind.Comma:
                return ParseSet(s, head, false, loc);
            case TokenKind.Colon:
                return ParseObject(head, potentialComprehension, loc);
        }
        Illegal("non-terminated set");
        return null;
    }

    private Term? ParseSet((int, int) s, Term head, bool potentialComprehension, RegoLocation loc)
    {
        switch (Kind)
        {
            case TokenKind.RBrace:
                Advance();
                return new SetTerm { Items = [head], Location = loc };
            case TokenKind.Comma:
                {
                    Advance();
                    var items = ParseTermList(TokenKind.RBrace, new List<Term> { head });
                    if (items is null) return null;
                    Advance();
                    return new SetTerm { Items = items, Location = loc };
                }
            case TokenKind.Or:
                {
                    if (potentialComprehension)
                    {
                        Advance();
                        var body = ParseBody(TokenKind.RBrace);
                        if (body is not null)
                        {
                            Advance();
                            return new SetComprehensionTerm { Head = head, Body = body, Location = loc };
                        }
                        if (Kind != TokenKind.Comma) return null;
                    }
                    Restore(s);
                    var items = ParseTermList(TokenKind.RBrace, new List<Term>());
                    if (items is null) return null;
                    Advance();
                    return new SetTerm { Items = items, Location = loc };
                }
        }
        return null;
    }

    private Term? ParseObject(Term key, bool potentialComprehension, RegoLocation loc)
    {
        Advance(); // ':'
        var s = Save();
        var value = ParseTerm();
        if (value is null) return null;
        bool potentialRelation = true;
        if (potentialComprehension && Kind is TokenKind.RBrace or TokenKind.Comma or TokenKind.Or)
        {
            if (Kind != TokenKind.Or) potentialRelation = false;
            var r = ParseObjectFinish(key, value, true, loc);
            if (r is not null) return r;
            if (!potentialRelation) return null; // keep the error of the failed item list
        }
        Restore(s);
        if (potentialRelation)
        {
            value = ParseInfix(keyVal: false);
            if (value is null) return null;
            if (Kind is TokenKind.RBrace or TokenKind.Comma) return ParseObjectFinish(key, value, false, loc);
        }
        Illegal("non-terminated object");
        return null;
    }

    private Term? ParseObjectFinish(Term key, Term value, bool potentialComprehension, RegoLocation loc)
    {
        switch (Kind)
        {
            case TokenKind.RBrace:
                Advance();
                return new ObjectTerm { Items = [new(key, value)], Location = loc };
            case TokenKind.Or:
                if (potentialComprehension)
                {
                    Advance();
                    var body = ParseBody(TokenKind.RBrace);
                    if (body is null) return null;
                    Advance();
                    return new ObjectComprehensionTerm { Key = key, Value = value, Body = body, Location = loc };
                }
                Illegal("non-terminated object");
                return null;
            case TokenKind.Comma:
                {
                    Advance();
                    var pairs = ParseTermPairList(TokenKind.RBrace, new List<KeyValuePair<Term, Term>> { new(key, value) });
                    if (pairs is null) return null;
                    Advance();
                    return new ObjectTerm { Items = pairs, Location = loc };
                }
        }
        return null;
    }

    private List<Term>? ParseTermList(TokenKind end, List<Term> list)
    {
        if (Kind == end) return list;
        while (true)
        {
            var t = ParseInfix(keyVal: false);
            if (t is null) return null;
            list.Add(t);
            if (Kind == end) return list;
            if (Kind == TokenKind.Comma)
            {
                Advance();
                if (Kind == end) return list;
                continue;
            }
            Illegal($"expected \",\" or \"{Lexer.Describe(end)}\"");
            return null;
        }
    }

    private List<KeyValuePair<Term, Term>>? ParseTermPairList(TokenKind end, List<KeyValuePair<Term, Term>> list)
    {
        if (Kind == end) return list;
        while (true)
        {
            var k = ParseInfix(keyVal: false);
            if (k is null) return null;
            if (Kind != TokenKind.Colon)
            {
                Illegal("expected \":\"");
                return null;
            }
            Advance();
            var v = ParseInfix(keyVal: false);
            if (v is null) return null;
            list.Add(new(k, v));
            if (Kind == end) return list;
            if (Kind == TokenKind.Comma)
            {
                Advance();
                if (Kind == end) return list;
                continue;
            }
            Illegal($"expected \",\" or \"{Lexer.Describe(end)}\"");
            return null;
        }
    }
}
