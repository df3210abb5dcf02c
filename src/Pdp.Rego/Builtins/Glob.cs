using System.Text;
using System.Text.RegularExpressions;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>glob.match</c> and <c>glob.quote_meta</c> with the semantics of the gobwas/glob library OPA uses:
/// <c>*</c> is any run of non-delimiter characters, <c>**</c> any run at all, <c>?</c> one non-delimiter character,
/// <c>[abc]</c>/<c>[a-z]</c>/<c>[!abc]</c> one character of (not of) a list, <c>{a,b}</c> alternatives (which may
/// hold patterns), <c>\</c> escapes. Delimiters: an array of single-character strings (empty array = <c>["."]</c>),
/// or null for none. Compiled patterns are cached process-wide; matching is linear-time.
/// </summary>
public static class GlobBuiltins
{
    /// <summary>Registers the glob built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("glob.match", 3, Match, [BuiltinType.String, BuiltinType.Array | BuiltinType.Null, BuiltinType.String]);
        b.Add("glob.quote_meta", 1, QuoteMeta, [BuiltinType.String]);
    }

    private static readonly BoundedCache<(string Pattern, string Delimiters), Matcher> Cache = new(2000);
    // One-character delimiter strings for ASCII, built once.
    private static readonly string[] SingleChar = Enumerable.Range(0, 128).Select(c => ((char)c).ToString()).ToArray();

    private static Value Match(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "glob.match";
        var pattern = Operands.Str(name, args, 0);
        string delimiters;
        switch (args[1])
        {
            case NullValue: delimiters = ""; break;
            case ArrayValue a:
            {
                if (a.Count == 0) { delimiters = "."; break; }
                if (a.Count == 1 && a[0] is StringValue { Value: { Length: > 0 } one } && one[0] < SingleChar.Length)
                {
                    // The usual case (["/"], ["."]): a cached one-character string, no allocation per call.
                    delimiters = SingleChar[one[0]];
                    break;
                }
                var sb = new StringBuilder(a.Count);
                foreach (var d in a.Span)
                {
                    // OPA takes each delimiter string's first character.
                    if (d is not StringValue s) throw BuiltinException.OperandType(name, 2, "array of strings", args[1]);
                    if (s.Value.Length > 0) sb.Append(s.Value[0]);
                }
                delimiters = sb.ToString();
                break;
            }
            default: throw BuiltinException.OperandType(name, 2, "one of {array, null}", args[1]);
        }
        var value = Operands.Str(name, args, 2);
        var matcher = Compile(pattern, delimiters);
        try { return Value.Bool(matcher.IsMatch(value)); }
        catch (RegexMatchTimeoutException) { throw BuiltinException.Error(name, "glob match timed out"); }
    }

    /// <summary>The compiled matcher for a glob (cached). Throws <see cref="BuiltinException"/> for a malformed glob
    /// (unclosed <c>[</c> or <c>{</c>, trailing <c>\</c>).</summary>
    internal static Matcher Compile(string pattern, string delimiters)
    {
        return Cache.GetOrAdd((pattern, delimiters), key =>
        {
            var translated = Translate(key.Pattern, key.Delimiters);
            if (SimpleGlob.TryCreate(key.Pattern, key.Delimiters) is { } simple) return new Matcher(simple, null);
            return new Matcher(null, new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, GoRegex.MatchTimeout));
        });
    }

    /// <summary>A compiled glob: the direct matcher for globs made of literals, <c>*</c>, <c>**</c> and <c>?</c>
    /// (the common case), else a linear-time regex.</summary>
    internal sealed record Matcher(SimpleGlob? Simple, Regex? Regex)
    {
        /// <summary>Whether <paramref name="s"/> matches the whole glob.</summary>
        public bool IsMatch(string s) => Simple?.IsMatch(s) ?? Regex!.IsMatch(s);
    }

    /// <summary>
    /// Direct matching of literal / <c>*</c> / <c>**</c> / <c>?</c> globs without a regex: a dynamic programme over
    /// (token, position) that is O(tokens × length) in time and O(length) in space, so no input can make it blow up.
    /// </summary>
    internal sealed class SimpleGlob
    {
        private enum Kind : byte { Literal, Star, SuperStar, One }
        private readonly (Kind Kind, string Text)[] _tokens;
        private readonly string _delimiters;

        private SimpleGlob((Kind, string)[] tokens, string delimiters) { _tokens = tokens; _delimiters = delimiters; }

        /// <summary>A matcher when the glob has no classes, alternatives or escapes; else null.</summary>
        public static SimpleGlob? TryCreate(string pattern, string delimiters)
        {
            if (pattern.AsSpan().IndexOfAny("[]{}\\,") >= 0) return null;
            var tokens = new List<(Kind, string)>();
            int i = 0;
            while (i < pattern.Length)
            {
                char c = pattern[i];
                if (c == '*')
                {
                    bool super = i + 1 < pattern.Length && pattern[i + 1] == '*';
                    tokens.Add((super ? Kind.SuperStar : Kind.Star, ""));
                    i += super ? 2 : 1;
                }
                else if (c == '?') { tokens.Add((Kind.One, "")); i++; }
                else
                {
                    int j = i;
                    while (j < pattern.Length && pattern[j] is not ('*' or '?')) j++;
                    tokens.Add((Kind.Literal, pattern[i..j]));
                    i = j;
                }
            }
            return new SimpleGlob(tokens.ToArray(), delimiters);
        }

        private bool IsDelimiter(char c) => _delimiters.Length != 0 && _delimiters.Contains(c);

        public bool IsMatch(string s)
        {
            // Fast paths: a pure literal, and literal + trailing "**".
            if (_tokens.Length == 0) return s.Length == 0;
            if (_tokens.Length == 1 && _tokens[0].Kind == Kind.Literal) return string.Equals(_tokens[0].Text, s, StringComparison.Ordinal);
            if (_tokens.Length == 2 && _tokens[0].Kind == Kind.Literal && _tokens[1].Kind == Kind.SuperStar) return s.StartsWith(_tokens[0].Text, StringComparison.Ordinal);
            // reach[p] = the tokens so far can consume exactly s[..p].
            int n = s.Length;
            Span<bool> reach = n < 256 ? stackalloc bool[n + 1] : new bool[n + 1];
            Span<bool> next = n < 256 ? stackalloc bool[n + 1] : new bool[n + 1];
            reach.Clear();
            reach[0] = true;
            foreach (var (kind, text) in _tokens)
            {
                next.Clear();
                bool any = false;
                switch (kind)
                {
                    case Kind.Literal:
                        for (int p = 0; p + text.Length <= n; p++)
                            if (reach[p] && string.CompareOrdinal(s, p, text, 0, text.Length) == 0) { next[p + text.Length] = true; any = true; }
                        break;
                    case Kind.One:
                        for (int p = 0; p < n; p++)
                            if (reach[p] && !IsDelimiter(s[p])) { next[p + 1] = true; any = true; }
                        break;
                    case Kind.Star:
                        for (int p = 0; p <= n; p++)
                        {
                            // Extend a run of non-delimiters from any reached start.
                            if (reach[p] || (p > 0 && next[p - 1] && !IsDelimiter(s[p - 1]))) { next[p] = true; any = true; }
                        }
                        break;
                    case Kind.SuperStar:
                        for (int p = 0; p <= n; p++)
                            if (reach[p] || (p > 0 && next[p - 1])) { next[p] = true; any = true; }
                        break;
                }
                if (!any) return false;
                next.CopyTo(reach);
            }
            return reach[n];
        }
    }

    /// <summary>Translates a glob into an anchored .NET regex. Throws <see cref="BuiltinException"/> when malformed.</summary>
    internal static string Translate(string pattern, string delimiters)
    {
        var notSep = delimiters.Length == 0 ? @"[\s\S]" : "[^" + EscapeClass(delimiters) + "]";
        var sb = new StringBuilder(pattern.Length * 2 + 8).Append(@"\A");
        int braces = 0;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*':
                    if (i + 1 < pattern.Length && pattern[i + 1] == '*') { sb.Append(@"[\s\S]*"); i++; }
                    else sb.Append(notSep).Append('*');
                    break;
                case '?':
                    sb.Append(notSep);
                    break;
                case '\\':
                    if (i + 1 >= pattern.Length) throw BuiltinException.Error("glob.match", "unexpected end of input after escape");
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '[':
                {
                    int j = i + 1;
                    var cls = new StringBuilder("[");
                    if (j < pattern.Length && pattern[j] == '!') { cls.Append('^'); j++; }
                    int start = j;
                    while (j < pattern.Length && pattern[j] != ']')
                    {
                        char ch = pattern[j];
                        if (ch == '-' && j > start && j + 1 < pattern.Length && pattern[j + 1] != ']') { cls.Append('-'); j++; continue; }
                        if (ch == '\\' && j + 1 < pattern.Length) { j++; ch = pattern[j]; }
                        cls.Append(EscapeClass(ch.ToString()));
                        j++;
                    }
                    if (j >= pattern.Length) throw BuiltinException.Error("glob.match", "unexpected end of input: unclosed character class");
                    if (j == start) throw BuiltinException.Error("glob.match", "empty character class");
                    sb.Append(cls).Append(']');
                    i = j;
                    break;
                }
                case '{':
                    braces++;
                    sb.Append("(?:");
                    break;
                case '}' when braces > 0:
                    braces--;
                    sb.Append(')');
                    break;
                case ',' when braces > 0:
                    sb.Append('|');
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        if (braces != 0) throw BuiltinException.Error("glob.match", "unexpected end of input: unclosed alternatives");
        return sb.Append(@"\z").ToString();
    }

    private static string EscapeClass(string s)
    {
        var sb = new StringBuilder(s.Length * 2);
        foreach (var c in s)
        {
            if (c is '\\' or ']' or '[' or '^' or '-') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static Value QuoteMeta(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var s = Operands.Str("glob.quote_meta", args, 0);
        var sb = new StringBuilder(s.Length + 4);
        foreach (var c in s)
        {
            if (c is '*' or '?' or '\\' or '[' or ']' or '{' or '}') sb.Append('\\');
            sb.Append(c);
        }
        return new StringValue(sb.ToString());
    }
}
