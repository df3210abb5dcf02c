using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// The <c>regex.*</c> built-ins. Patterns use Go's RE2 syntax as OPA does; <see cref="GoRegex"/> translates them to
/// .NET and rejects what RE2 rejects (backreferences, lookaround, atomic groups). Compiled patterns live in a
/// process-wide bounded cache, run on .NET's non-backtracking engine (linear time, like RE2) and carry a match
/// timeout as a second line of defence.
/// </summary>
public static class RegexBuiltins
{
    /// <summary>Registers the regex built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("regex.match", 2, Match, [BuiltinType.String, BuiltinType.String]);
        b.Add("regex.is_valid", 1, IsValid, [BuiltinType.Any]);
        b.Add("regex.find_n", 3, FindN, [BuiltinType.String, BuiltinType.String, BuiltinType.Number]);
        b.Add("regex.find_all_string_submatch_n", 3, FindAllStringSubmatchN, [BuiltinType.String, BuiltinType.String, BuiltinType.Number]);
        b.Add("regex.split", 2, Split, [BuiltinType.String, BuiltinType.String]);
        b.Add("regex.replace", 3, Replace, [BuiltinType.String, BuiltinType.String, BuiltinType.String]);
        b.Add("regex.template_match", 4, TemplateMatch, [BuiltinType.String, BuiltinType.String, BuiltinType.String, BuiltinType.String]);
        b.Add("regex.globs_match", 2, GlobsMatch, [BuiltinType.String, BuiltinType.String]);
    }

    private static Value GlobsMatch(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.globs_match";
        var a = RegexGlob.Parse(name, Operands.Str(name, args, 0));
        var b = RegexGlob.Parse(name, Operands.Str(name, args, 1));
        return Value.Bool(RegexGlob.Intersects(a, b));
    }

    private static Value Match(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.match";
        var pattern = Operands.Str(name, args, 0);
        var value = Operands.Str(name, args, 1);
        var re = Compile(name, pattern);
        // No Run(...) closure: regex.match runs on every evaluation of policies that validate paths.
        try { return Value.Bool(re.IsMatch(value)); }
        catch (RegexMatchTimeoutException) { throw BuiltinException.Error(name, "regular expression match timed out"); }
    }

    private static Value IsValid(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        // OPA answers false (not a type error) for a non-string operand.
        if (args[0] is not StringValue s) return Value.False;
        return Value.Bool(GoRegex.TryGet(s.Value, out _, out _));
    }

    private static Value FindN(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.find_n";
        var pattern = Operands.Str(name, args, 0);
        var value = Operands.Str(name, args, 1);
        var n = MoreOperands.Int(name, args, 2);
        var re = Compile(name, pattern);
        var matches = Run(name, () => GoRegex.FindAll(re, value, n));
        return new ArrayValue(matches.Select(m => (Value)new StringValue(m.Value)).ToArray());
    }

    private static Value FindAllStringSubmatchN(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.find_all_string_submatch_n";
        var pattern = Operands.Str(name, args, 0);
        var value = Operands.Str(name, args, 1);
        var n = MoreOperands.Int(name, args, 2);
        var re = Compile(name, pattern);
        var matches = Run(name, () => GoRegex.FindAll(re, value, n));
        var numbers = re.GetGroupNumbers();
        var rows = new Value[matches.Count];
        for (int i = 0; i < matches.Count; i++)
        {
            var groups = new Value[numbers.Length];
            // Unmatched groups are "" as in Go's FindAllStringSubmatch.
            for (int g = 0; g < numbers.Length; g++) groups[g] = new StringValue(matches[i].Groups[numbers[g]].Success ? matches[i].Groups[numbers[g]].Value : "");
            rows[i] = new ArrayValue(groups);
        }
        return new ArrayValue(rows);
    }

    private static Value Split(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.split";
        var pattern = Operands.Str(name, args, 0);
        var value = Operands.Str(name, args, 1);
        var re = Compile(name, pattern);
        return MoreOperands.Strings(Run(name, () => GoRegex.Split(re, pattern, value)));
    }

    private static Value Replace(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.replace";
        var s = Operands.Str(name, args, 0);
        var pattern = Operands.Str(name, args, 1);
        var replacement = Operands.Str(name, args, 2);
        var re = Compile(name, pattern);
        return new StringValue(Run(name, () => GoRegex.ReplaceAll(re, s, replacement)));
    }

    private static Value TemplateMatch(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "regex.template_match";
        var template = Operands.Str(name, args, 0);
        var value = Operands.Str(name, args, 1);
        var start = Operands.Str(name, args, 2);
        var end = Operands.Str(name, args, 3);
        if (start.Length == 0 || end.Length == 0) throw BuiltinException.Error(name, "delimiters must not be empty");
        var key = string.Concat(start, "\u0000", end, "\u0000", template);
        var re = TemplateCache.GetOrAdd(key, _ => CompileTemplate(name, template, start, end));
        return Value.Bool(Run(name, () => re.IsMatch(value)));
    }

    private static readonly BoundedCache<string, Regex> TemplateCache = new(1000);

    /// <summary>Builds <c>^literal(re)literal$</c> from a template whose regex parts sit between the delimiters
    /// (nested delimiter pairs inside a part are balanced, as in gorilla/mux templates).</summary>
    private static Regex CompileTemplate(string name, string template, string start, string end)
    {
        var sb = new StringBuilder("^");
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf(start, i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(GoRegex.QuoteMeta(template[i..])); break; }
            sb.Append(GoRegex.QuoteMeta(template[i..open]));
            int depth = 1, j = open + start.Length;
            while (j < template.Length && depth > 0)
            {
                if (string.CompareOrdinal(template, j, end, 0, end.Length) == 0) { depth--; if (depth == 0) break; j += end.Length; }
                else if (string.CompareOrdinal(template, j, start, 0, start.Length) == 0) { depth++; j += start.Length; }
                else j++;
            }
            if (depth != 0) throw BuiltinException.Error(name, $"unbalanced braces in {Value.JsonQuote(template)}");
            sb.Append('(').Append(template, open + start.Length, j - open - start.Length).Append(')');
            i = j + end.Length;
        }
        sb.Append('$');
        if (!GoRegex.TryGet(sb.ToString(), out var re, out var error)) throw BuiltinException.Error(name, error!);
        return re!;
    }

    private static Regex Compile(string builtin, string pattern)
    {
        if (GoRegex.TryGet(pattern, out var re, out var error)) return re!;
        throw BuiltinException.Error(builtin, error!);
    }

    private static T Run<T>(string builtin, Func<T> f)
    {
        try { return f(); }
        catch (RegexMatchTimeoutException) { throw BuiltinException.Error(builtin, "regular expression match timed out"); }
    }
}

/// <summary>
/// The restricted patterns of <c>regex.globs_match</c>: <c>.</c> (any character), <c>[...]</c> classes with ranges
/// and a leading <c>^</c>, <c>\</c> escapes, and <c>*</c> / <c>+</c> after an element; everything else is literal.
/// Two patterns intersect when some non-empty string matches both (a breadth-first walk of the product automaton).
/// </summary>
internal static class RegexGlob
{
    /// <summary>One element: a character set (ranges, possibly negated; null ranges = any) and its repetition.</summary>
    internal sealed record Element((char Lo, char Hi)[]? Ranges, bool Negated, bool Repeat);

    /// <summary>Parses a pattern into elements; "x+" becomes "x" then "x*". Throws <see cref="BuiltinException"/>
    /// for an unclosed class or a dangling escape or repetition.</summary>
    public static List<Element> Parse(string name, string p)
    {
        var result = new List<Element>();
        int i = 0;
        while (i < p.Length)
        {
            Element e;
            char c = p[i];
            if (c == '.') { e = new Element(null, false, false); i++; }
            else if (c == '[')
            {
                int j = i + 1;
                bool neg = j < p.Length && p[j] == '^';
                if (neg) j++;
                var ranges = new List<(char, char)>();
                while (j < p.Length && p[j] != ']')
                {
                    char lo = p[j];
                    if (lo == '\\' && j + 1 < p.Length) lo = p[++j];
                    j++;
                    char hi = lo;
                    if (j + 1 < p.Length && p[j] == '-' && p[j + 1] != ']')
                    {
                        hi = p[j + 1];
                        if (hi == '\\' && j + 2 < p.Length) { hi = p[j + 2]; j++; }
                        j += 2;
                        if (hi < lo) throw BuiltinException.Error(name, $"invalid character class range in {Value.JsonQuote(p)}");
                    }
                    ranges.Add((lo, hi));
                }
                if (j >= p.Length) throw BuiltinException.Error(name, $"unclosed character class in {Value.JsonQuote(p)}");
                e = new Element(ranges.ToArray(), neg, false);
                i = j + 1;
            }
            else if (c == '\\')
            {
                if (i + 1 >= p.Length) throw BuiltinException.Error(name, $"trailing backslash in {Value.JsonQuote(p)}");
                e = new Element([(p[i + 1], p[i + 1])], false, false);
                i += 2;
            }
            else if (c is '*' or '+') throw BuiltinException.Error(name, $"missing argument to repetition operator in {Value.JsonQuote(p)}");
            else { e = new Element([(c, c)], false, false); i++; }
            if (i < p.Length && p[i] is '*' or '+')
            {
                if (p[i] == '+') result.Add(e);
                result.Add(e with { Repeat = true });
                i++;
            }
            else result.Add(e);
        }
        return result;
    }

    /// <summary>Whether some non-empty string matches both patterns.</summary>
    public static bool Intersects(List<Element> a, List<Element> b)
    {
        // States: (position in a, position in b, consumed a character yet); a repeated element may be skipped.
        var seen = new HashSet<(int, int, bool)>();
        var queue = new Queue<(int, int, bool)>();
        void Push(int i, int j, bool consumed)
        {
            if (seen.Add((i, j, consumed))) queue.Enqueue((i, j, consumed));
        }
        Push(0, 0, false);
        while (queue.Count > 0)
        {
            var (i, j, consumed) = queue.Dequeue();
            if (i == a.Count && j == b.Count && consumed) return true;
            // A repeated element may match nothing.
            if (i < a.Count && a[i].Repeat) Push(i + 1, j, consumed);
            if (j < b.Count && b[j].Repeat) Push(i, j + 1, consumed);
            // One character matching both current elements; a repeated element may match more.
            if (i < a.Count && j < b.Count && Overlap(a[i], b[j])) Push(a[i].Repeat ? i : i + 1, b[j].Repeat ? j : j + 1, true);
        }
        return false;
    }

    private static bool Overlap(Element x, Element y)
    {
        if (x.Ranges is null) return y.Ranges is null || y.Negated || y.Ranges.Length > 0;
        if (y.Ranges is null) return x.Negated || x.Ranges.Length > 0;
        if (x.Negated && y.Negated) return true; // two complements of finite sets always share characters
        if (x.Negated) return Overlap(y, x);
        foreach (var (lo, hi) in x.Ranges)
        {
            if (!y.Negated)
            {
                foreach (var (lo2, hi2) in y.Ranges) if (lo <= hi2 && lo2 <= hi) return true;
            }
            else
            {
                // Some character of [lo, hi] outside all of y's ranges: scan the boundaries only.
                for (int c = lo; c <= hi;)
                {
                    var blocking = y.Ranges.Where(r => r.Lo <= c && c <= r.Hi).Select(r => (int)r.Hi).DefaultIfEmpty(-1).Max();
                    if (blocking < 0) return true;
                    c = blocking + 1;
                }
            }
        }
        return false;
    }
}

/// <summary>
/// Go (RE2) regular expressions on .NET: translation of the syntax, Go's match-iteration rules (empty matches next
/// to a previous match are skipped), <c>Split</c> and <c>ReplaceAll</c> with Go's <c>$name</c> expansion.
/// </summary>
public static class GoRegex
{
    /// <summary>Longest time one match may run before <see cref="RegexMatchTimeoutException"/>.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private sealed record Entry(Regex? Regex, string? Error);
    private static readonly BoundedCache<string, Entry> Cache = new(2000);

    /// <summary>The compiled regex for a Go pattern (cached process-wide), or false with Go-style error text
    /// (<c>error parsing regexp: ...</c>) when the pattern is not valid RE2.</summary>
    public static bool TryGet(string pattern, out Regex? regex, out string? error)
    {
        var e = Cache.GetOrAdd(pattern, Build);
        regex = e.Regex;
        error = e.Error;
        return regex is not null;
    }

    private static Entry Build(string pattern)
    {
        string translated;
        try { translated = Translate(pattern); }
        catch (FormatException ex) { return new Entry(null, "error parsing regexp: " + ex.Message); }
        try
        {
            return new Entry(new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout), null);
        }
        catch (NotSupportedException)
        {
            try { return new Entry(new Regex(translated, RegexOptions.CultureInvariant, MatchTimeout), null); }
            catch (ArgumentException ex) { return new Entry(null, "error parsing regexp: " + ex.Message); }
        }
        catch (ArgumentException ex) { return new Entry(null, "error parsing regexp: " + ex.Message); }
    }

    /// <summary>Escapes every regex metacharacter, as Go's <c>regexp.QuoteMeta</c>.</summary>
    public static string QuoteMeta(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            if (@"\.+*?()|[]{}^$".IndexOf(c) >= 0) sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>All matches as Go's <c>FindAll*(s, n)</c>: at most <paramref name="n"/> (all when negative), an empty
    /// match right after the previous match is skipped.</summary>
    public static List<Match> FindAll(Regex re, string s, long n)
    {
        var result = new List<Match>();
        if (n == 0) return result;
        int prevEnd = -1;
        for (var m = re.Match(s); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0 && m.Index == prevEnd) continue;
            result.Add(m);
            prevEnd = m.Index + m.Length;
            if (n > 0 && result.Count >= n) break;
        }
        return result;
    }

    /// <summary>Go's <c>regexp.Split(s, -1)</c>, quirks included (an empty input gives <c>[""]</c>).</summary>
    public static List<string> Split(Regex re, string pattern, string s)
    {
        if (pattern.Length > 0 && s.Length == 0) return [""];
        var parts = new List<string>();
        int beg = 0, end = 0;
        foreach (var m in FindAll(re, s, -1))
        {
            end = m.Index;
            if (m.Index + m.Length != 0) parts.Add(s[beg..end]);
            beg = m.Index + m.Length;
        }
        if (end != s.Length) parts.Add(s[beg..]);
        return parts;
    }

    /// <summary>Go's <c>ReplaceAllString</c>: <c>$1</c>, <c>${1}</c>, <c>$name</c>, <c>${name}</c>, <c>$$</c>; a
    /// name is the longest run of letters, digits and underscores; unknown groups expand to "".</summary>
    public static string ReplaceAll(Regex re, string s, string template)
    {
        var sb = new StringBuilder(s.Length);
        int last = 0;
        foreach (var m in FindAll(re, s, -1))
        {
            sb.Append(s, last, m.Index - last);
            Expand(sb, re, m, template);
            last = m.Index + m.Length;
        }
        sb.Append(s, last, s.Length - last);
        return sb.ToString();
    }

    private static void Expand(StringBuilder sb, Regex re, Match m, string t)
    {
        int i = 0;
        while (i < t.Length)
        {
            int d = t.IndexOf('$', i);
            if (d < 0) { sb.Append(t, i, t.Length - i); return; }
            sb.Append(t, i, d - i);
            i = d + 1;
            if (i < t.Length && t[i] == '$') { sb.Append('$'); i++; continue; }
            string? groupName = null;
            if (i < t.Length && t[i] == '{')
            {
                int close = t.IndexOf('}', i + 1);
                if (close > i + 1 && IsName(t.AsSpan(i + 1, close - i - 1))) { groupName = t[(i + 1)..close]; i = close + 1; }
            }
            else
            {
                int j = i;
                while (j < t.Length && (char.IsAsciiLetterOrDigit(t[j]) || t[j] == '_')) j++;
                if (j > i) { groupName = t[i..j]; i = j; }
            }
            if (groupName is null) { sb.Append('$'); continue; } // malformed: Go keeps the '$'
            Group? g = null;
            if (int.TryParse(groupName, NumberStyles.None, CultureInfo.InvariantCulture, out var num))
            {
                if (num < re.GetGroupNumbers().Length) g = m.Groups[num];
            }
            else if (re.GroupNumberFromName(groupName) >= 0) g = m.Groups[groupName];
            if (g is { Success: true }) sb.Append(g.Value);
        }
    }

    private static bool IsName(ReadOnlySpan<char> s)
    {
        foreach (var c in s) if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }

    private const string Word = "0-9A-Za-z_";
    private const string Space = @"\t\n\f\r ";

    /// <summary>
    /// Translates RE2 syntax to .NET syntax. Throws <see cref="FormatException"/> (message as Go's parser words it
    /// where practical) for what RE2 rejects. Differences handled: <c>$</c> is end of text unless <c>(?m)</c>;
    /// <c>\d \w \s</c> are ASCII; <c>\Q..\E</c>, <c>\x{..}</c>, <c>(?P&lt;n&gt;</c>, <c>[[:alpha:]]</c>, <c>\pL</c>;
    /// repetition counts above 1000 are errors.
    /// </summary>
    public static string Translate(string p)
    {
        var sb = new StringBuilder(p.Length + 16);
        // Multiline flag per open group, so '$' can be translated in context.
        var multiline = new Stack<(bool Ml, bool U)>();
        bool ml = false, ungreedy = false;
        int depth = 0;
        int i = 0;
        while (i < p.Length)
        {
            char c = p[i];
            switch (c)
            {
                case '\\':
                    i = TranslateEscape(p, i, sb, inClass: false);
                    continue;
                case '[':
                    i = TranslateClass(p, i, sb);
                    continue;
                case '$':
                    sb.Append(ml ? "(?m:$)" : "\\z");
                    i++;
                    continue;
                case '(':
                {
                    multiline.Push((ml, ungreedy));
                    depth++;
                    if (i + 1 < p.Length && p[i + 1] == '?')
                    {
                        int j = i + 2;
                        if (j < p.Length && p[j] == 'P' && j + 1 < p.Length && p[j + 1] == '<') j++;
                        if (j < p.Length && p[j] == '<')
                        {
                            int close = p.IndexOf('>', j);
                            if (close < 0) throw new FormatException($"invalid named capture: `{p[i..]}`");
                            var gname = p[(j + 1)..close];
                            if (gname.Length == 0 || !IsName(gname)) throw new FormatException($"invalid named capture: `{p[i..(close + 1)]}`");
                            sb.Append("(?<").Append(gname).Append('>');
                            i = close + 1;
                            continue;
                        }
                        // Flags: (?flags) or (?flags:...)
                        bool neg = false, newMl = ml, newU = ungreedy;
                        int k = j;
                        for (; k < p.Length && p[k] != ')' && p[k] != ':'; k++)
                        {
                            switch (p[k])
                            {
                                case 'i': case 's': break;
                                case 'm': newMl = !neg; break;
                                case 'U': newU = !neg; break;
                                case '-': if (neg) throw new FormatException($"invalid or unsupported Perl syntax: `{p[i..(k + 1)]}`"); neg = true; break;
                                default: throw new FormatException($"invalid or unsupported Perl syntax: `{p[i..Math.Min(p.Length, k + 1)]}`");
                            }
                        }
                        if (k >= p.Length) throw new FormatException($"missing closing ): `{p}`");
                        if (k == j && p[k] == ')') throw new FormatException($"missing argument to repetition operator: `?`");
                        var flags = p[j..k];
                        if (p[k] == ')')
                        {
                            // (?flags) applies to the rest of the enclosing group.
                            multiline.Pop();
                            depth--;
                            ml = newMl;
                            ungreedy = newU;
                            flags = flags.Replace("U", "");
                            if (flags.Length > 0 && flags != "-" && !flags.EndsWith('-')) sb.Append("(?").Append(flags).Append(')');
                            else if (flags.EndsWith('-') && flags.Length > 1) sb.Append("(?").Append(flags.TrimEnd('-')).Append(')');
                            i = k + 1;
                            continue;
                        }
                        ml = newMl;
                        ungreedy = newU;
                        flags = flags.Replace("U", "");
                        if (flags.EndsWith('-')) flags = flags.TrimEnd('-');
                        sb.Append("(?").Append(flags).Append(':');
                        i = k + 1;
                        continue;
                    }
                    sb.Append('(');
                    i++;
                    continue;
                }
                case ')':
                    if (depth == 0) throw new FormatException($"unexpected ): `{p}`");
                    depth--;
                    (ml, ungreedy) = multiline.Pop();
                    sb.Append(')');
                    i++;
                    continue;
                case '{':
                {
                    // A valid repetition {n}, {n,}, {n,m}; anything else is a literal brace, as in Go.
                    int j = i + 1, n1 = 0, n2 = -1, digits = 0;
                    while (j < p.Length && char.IsAsciiDigit(p[j])) { n1 = Math.Min(100000, n1 * 10 + (p[j] - '0')); j++; digits++; }
                    bool ok = digits > 0;
                    if (ok && j < p.Length && p[j] == ',')
                    {
                        j++;
                        int d2 = 0, v = 0;
                        while (j < p.Length && char.IsAsciiDigit(p[j])) { v = Math.Min(100000, v * 10 + (p[j] - '0')); j++; d2++; }
                        n2 = d2 > 0 ? v : int.MaxValue;
                    }
                    else n2 = n1;
                    ok = ok && j < p.Length && p[j] == '}';
                    if (!ok) { sb.Append("\\{"); i++; continue; }
                    if (n1 > 1000 || (n2 != int.MaxValue && n2 > 1000) || n2 < n1) throw new FormatException($"invalid repeat count: `{p[i..(j + 1)]}`");
                    sb.Append(p, i, j + 1 - i);
                    i = Laziness(p, j + 1, sb, ungreedy);
                    continue;
                }
                case '}':
                    sb.Append("\\}");
                    i++;
                    continue;
                case '*' or '+' or '?':
                    sb.Append(c);
                    i = Laziness(p, i + 1, sb, ungreedy);
                    continue;
                case '.':
                    // Go matches a whole code point; .NET would match half of a surrogate pair.
                    sb.Append(@"(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|.)");
                    i++;
                    continue;
                case '#': case ' ':
                    sb.Append('\\').Append(c);
                    i++;
                    continue;
                default:
                    sb.Append(c);
                    i++;
                    continue;
            }
        }
        if (depth != 0) throw new FormatException($"missing closing ): `{p}`");
        return sb.ToString();
    }

    /// <summary>After a quantifier: a following '?' makes it lazy, and (?U) swaps lazy and greedy.</summary>
    private static int Laziness(string p, int i, StringBuilder sb, bool ungreedy)
    {
        bool lazy = i < p.Length && p[i] == '?';
        if (lazy != ungreedy) sb.Append('?');
        return lazy ? i + 1 : i;
    }

    private static int TranslateEscape(string p, int i, StringBuilder sb, bool inClass)
    {
        if (i + 1 >= p.Length) throw new FormatException("trailing backslash at end of expression: ``");
        char e = p[i + 1];
        switch (e)
        {
            case 'd': sb.Append(inClass ? "0-9" : "[0-9]"); return i + 2;
            case 'D': sb.Append(inClass ? @"\D" : "[^0-9]"); return i + 2;
            case 'w': sb.Append(inClass ? Word : "[" + Word + "]"); return i + 2;
            case 'W': sb.Append(inClass ? @"\W" : "[^" + Word + "]"); return i + 2;
            case 's': sb.Append(inClass ? Space : "[" + Space + "]"); return i + 2;
            case 'S': sb.Append(inClass ? @"\S" : "[^" + Space + "]"); return i + 2;
            case 'a': sb.Append(@"\a"); return i + 2;
            case 'f': sb.Append(@"\f"); return i + 2;
            case 't': sb.Append(@"\t"); return i + 2;
            case 'n': sb.Append(@"\n"); return i + 2;
            case 'r': sb.Append(@"\r"); return i + 2;
            case 'v': sb.Append(@"\v"); return i + 2;
            case 'A' or 'z' or 'b' or 'B' when !inClass: sb.Append('\\').Append(e); return i + 2;
            case 'Q':
            {
                int end = p.IndexOf(@"\E", i + 2, StringComparison.Ordinal);
                var lit = end < 0 ? p[(i + 2)..] : p[(i + 2)..end];
                foreach (var ch in lit) AppendLiteral(sb, ch);
                return end < 0 ? p.Length : end + 2;
            }
            case 'x':
            {
                int j = i + 2;
                int code;
                if (j < p.Length && p[j] == '{')
                {
                    int close = p.IndexOf('}', j);
                    if (close < 0 || !int.TryParse(p.AsSpan(j + 1, close - j - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code) || code > 0x10FFFF)
                        throw new FormatException($"invalid escape sequence: `{p[i..Math.Min(p.Length, (close < 0 ? p.Length : close + 1))]}`");
                    j = close + 1;
                }
                else
                {
                    if (j + 2 > p.Length || !int.TryParse(p.AsSpan(j, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                        throw new FormatException($"invalid escape sequence: `{p[i..Math.Min(p.Length, j + 2)]}`");
                    j += 2;
                }
                AppendCodePoint(sb, code);
                return j;
            }
            case >= '0' and <= '7':
            {
                // Octal: \0, or \1-\7 followed by another octal digit (a lone \1 would be a backreference).
                int j = i + 1;
                if (e != '0' && (j + 1 >= p.Length || p[j + 1] < '0' || p[j + 1] > '7')) throw new FormatException($"invalid escape sequence: `\\{e}`");
                int code = 0, count = 0;
                while (j < p.Length && count < 3 && p[j] >= '0' && p[j] <= '7') { code = code * 8 + (p[j] - '0'); j++; count++; }
                AppendCodePoint(sb, code);
                return j;
            }
            case 'p' or 'P':
            {
                int j = i + 2;
                string cls;
                if (j < p.Length && p[j] == '{')
                {
                    int close = p.IndexOf('}', j);
                    if (close < 0) throw new FormatException($"invalid character class range: `{p[i..]}`");
                    cls = p[(j + 1)..close];
                    j = close + 1;
                }
                else if (j < p.Length) { cls = p[j].ToString(); j++; }
                else throw new FormatException($"invalid character class range: `{p[i..]}`");
                bool negate = e == 'P';
                if (cls.StartsWith('^')) { negate = !negate; cls = cls[1..]; }
                sb.Append(negate ? @"\P{" : @"\p{").Append(UnicodeClass(cls, p[i..j])).Append('}');
                return j;
            }
            default:
                if (char.IsAsciiLetterOrDigit(e)) throw new FormatException($"invalid escape sequence: `\\{e}`");
                AppendLiteral(sb, e);
                return i + 2;
        }
    }

    private static string UnicodeClass(string name, string text) => name switch
    {
        "Any" => throw new FormatException($"invalid character class range: `{text}`"),
        "Greek" => "IsGreekandCoptic",
        "Cyrillic" => "IsCyrillic",
        "Han" => "IsCJKUnifiedIdeographs",
        "Arabic" => "IsArabic",
        "Hebrew" => "IsHebrew",
        "Hiragana" => "IsHiragana",
        "Katakana" => "IsKatakana",
        "Thai" => "IsThai",
        _ when name.Length is 1 or 2 && char.IsAsciiLetterUpper(name[0]) => name,
        _ => throw new FormatException($"invalid character class range: `{text}`"),
    };

    private static int TranslateClass(string p, int i, StringBuilder sb)
    {
        // A class that is exactly one negated POSIX class, [[:^alpha:]], is the negated set.
        if (string.CompareOrdinal(p, i, "[[:^", 0, 4) == 0)
        {
            int close = p.IndexOf(":]]", i + 4, StringComparison.Ordinal);
            if (close > 0 && PosixClass(p[(i + 4)..close]) is { } negated && p.IndexOf(']', i + 4) == close + 1)
            {
                sb.Append("[^").Append(negated).Append(']');
                return close + 3;
            }
        }
        int j = i + 1;
        sb.Append('[');
        if (j < p.Length && p[j] == '^') { sb.Append('^'); j++; }
        bool first = true;
        while (true)
        {
            if (j >= p.Length) throw new FormatException($"missing closing ]: `{p[i..]}`");
            char c = p[j];
            if (c == ']' && !first) { sb.Append(']'); return j + 1; }
            first = false;
            if (c == '[' && j + 1 < p.Length && p[j + 1] == ':')
            {
                int close = p.IndexOf(":]", j + 2, StringComparison.Ordinal);
                if (close > 0)
                {
                    var name = p[(j + 2)..close];
                    bool neg = name.StartsWith('^');
                    if (neg) name = name[1..];
                    var set = PosixClass(name) ?? throw new FormatException($"invalid character class range: `{p[j..(close + 2)]}`");
                    // [[:^alpha:]] has no subtraction-free .NET equivalent inside a larger class: rejected.
                    if (neg) throw new FormatException($"invalid character class range: `{p[j..(close + 2)]}`");
                    sb.Append(set);
                    j = close + 2;
                    continue;
                }
            }
            if (c == '\\')
            {
                j = TranslateEscape(p, j, sb, inClass: true);
                continue;
            }
            if (c is '[' or ']')
            {
                // A literal '[' is escaped so .NET never sees class subtraction; a leading ']' is literal in Go.
                sb.Append('\\').Append(c);
                j++;
                continue;
            }
            sb.Append(c);
            j++;
        }
    }

    private static string? PosixClass(string name) => name switch
    {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => @"\x00-\x7F",
        "blank" => @"\t ",
        "cntrl" => @"\x00-\x1F\x7F",
        "digit" => "0-9",
        "graph" => @"!-~",
        "lower" => "a-z",
        "print" => @" -~",
        "punct" => @"!-/:-@\[-`{-~",
        "space" => @"\t\n\v\f\r ",
        "upper" => "A-Z",
        "word" => Word,
        "xdigit" => "0-9A-Fa-f",
        _ => null,
    };

    private static void AppendLiteral(StringBuilder sb, char c)
    {
        if (@"\.+*?()|[]{}^$#- ".IndexOf(c) >= 0) sb.Append('\\').Append(c);
        else if (c < 0x20) sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        else sb.Append(c);
    }

    private static void AppendCodePoint(StringBuilder sb, int code)
    {
        if (code < 0x10000) sb.Append("\\u").Append(code.ToString("X4", CultureInfo.InvariantCulture));
        else
        {
            var s = char.ConvertFromUtf32(code);
            sb.Append("(?:\\u").Append(((int)s[0]).ToString("X4", CultureInfo.InvariantCulture))
              .Append("\\u").Append(((int)s[1]).ToString("X4", CultureInfo.InvariantCulture)).Append(')');
        }
    }
}
