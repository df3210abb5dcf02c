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

    private static readonly BoundedCache<(string Pattern, string Delimiters), Regex> Cache = new(2000);

    private static Value Match(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "glob.match";
        var pattern = MoreOperands.Str(name, args, 0);
        string delimiters;
        switch (args[1])
        {
            case NullValue: delimiters = ""; break;
            case ArrayValue a:
            {
                if (a.Count == 0) { delimiters = "."; break; }
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
        var value = MoreOperands.Str(name, args, 2);
        var re = Compile(pattern, delimiters);
        try { return Value.Bool(re.IsMatch(value)); }
        catch (RegexMatchTimeoutException) { throw BuiltinException.Error(name, "glob match timed out"); }
    }

    /// <summary>The compiled matcher for a glob (cached). Throws <see cref="BuiltinException"/> for a malformed glob
    /// (unclosed <c>[</c> or <c>{</c>, trailing <c>\</c>).</summary>
    internal static Regex Compile(string pattern, string delimiters)
    {
        return Cache.GetOrAdd((pattern, delimiters), key =>
        {
            var translated = Translate(key.Pattern, key.Delimiters);
            return new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, GoRegex.MatchTimeout);
        });
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
        var s = MoreOperands.Str("glob.quote_meta", args, 0);
        var sb = new StringBuilder(s.Length + 4);
        foreach (var c in s)
        {
            if (c is '*' or '?' or '\\' or '[' or ']' or '{' or '}') sb.Append('\\');
            sb.Append(c);
        }
        return new StringValue(sb.ToString());
    }
}
