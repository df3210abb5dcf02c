using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// The <c>time.*</c> built-ins. Timestamps are integers: nanoseconds since the Unix epoch (UTC), within the int64
/// range (years 1677 to 2262) as OPA's Go <c>time.UnixNano</c>. Time zones are IANA names (<c>""</c> and
/// <c>"UTC"</c> = UTC, <c>"Local"</c> = the host's zone). Layouts are Go reference-time layouts
/// (<c>2006-01-02T15:04:05Z07:00</c>) or the names of Go's layout constants (<c>RFC3339</c>, <c>RFC1123</c>, ...).
/// </summary>
public static class TimeBuiltins
{
    /// <summary>Registers the time built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("time.now_ns", 0, NowNs, [], nondeterministic: true);
        b.Add("time.parse_rfc3339_ns", 1, ParseRfc3339Ns, [BuiltinType.String]);
        b.Add("time.parse_ns", 2, ParseNs, [BuiltinType.String, BuiltinType.String]);
        b.Add("time.parse_duration_ns", 1, ParseDurationNs, [BuiltinType.String]);
        b.Add("time.date", 1, Date, [BuiltinType.Number | BuiltinType.Array]);
        b.Add("time.clock", 1, Clock, [BuiltinType.Number | BuiltinType.Array]);
        b.Add("time.weekday", 1, Weekday, [BuiltinType.Number | BuiltinType.Array]);
        b.Add("time.add_date", 4, AddDate, [BuiltinType.Number, BuiltinType.Number, BuiltinType.Number, BuiltinType.Number]);
        b.Add("time.diff", 2, Diff, [BuiltinType.Number | BuiltinType.Array, BuiltinType.Number | BuiltinType.Array]);
        b.Add("time.format", 1, Format, [BuiltinType.Number | BuiltinType.Array]);
    }

    private const long NanosPerSecond = 1_000_000_000;
    private static readonly string[] DayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] MonthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private static Value NowNs(BuiltinContext ctx, ReadOnlySpan<Value> args)
        => NumberValue.FromInt64((ctx.Now.UtcTicks - DateTime.UnixEpoch.Ticks) * 100);

    // ------------------------------------------------------------------ parsing

    private static Value ParseRfc3339Ns(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "time.parse_rfc3339_ns";
        var s = Operands.Str(name, args, 0);
        // Fast path for the exact RFC 3339 shape; the general Go layout parser gives the error text otherwise.
        if (TryParseRfc3339(s, out var ns, out var outOfRange)) return NumberValue.FromInt64(ns);
        if (outOfRange) throw BuiltinException.Error(name, "time outside of valid range");
        return NumberValue.FromInt64(GoParse(name, "2006-01-02T15:04:05Z07:00", s));
    }

    private static Value ParseNs(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "time.parse_ns";
        var layout = NamedLayout(Operands.Str(name, args, 0));
        var s = Operands.Str(name, args, 1);
        return NumberValue.FromInt64(GoParse(name, layout, s));
    }

    /// <summary>Parses RFC 3339 (<c>2006-01-02T15:04:05[.fraction](Z|±hh:mm)</c>) to Unix nanoseconds without
    /// allocating. False when the text is not of that shape or the instant is outside int64 nanoseconds
    /// (<paramref name="outOfRange"/> then true).</summary>
    internal static bool TryParseRfc3339(string s, out long ns, out bool outOfRange)
    {
        ns = 0;
        outOfRange = false;
        if (s.Length < 20) return false;
        if (!Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-' || !Digits(s, 8, 2, out var day)
            || s[10] != 'T' || !Digits(s, 11, 2, out var hour) || s[13] != ':' || !Digits(s, 14, 2, out var min) || s[16] != ':' || !Digits(s, 17, 2, out var sec))
            return false;
        int i = 19;
        long nanos = 0;
        if (i < s.Length && (s[i] == '.' || s[i] == ','))
        {
            int start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { if (i - start < 9) nanos = nanos * 10 + (s[i] - '0'); i++; }
            if (i == start) return false;
            for (int k = Math.Min(i - start, 9); k < 9; k++) nanos *= 10;
        }
        if (i >= s.Length) return false;
        int offset;
        if (s[i] == 'Z' && i + 1 == s.Length) offset = 0;
        else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.Length && Digits(s, i + 1, 2, out var oh) && s[i + 3] == ':' && Digits(s, i + 4, 2, out var om))
        {
            if (oh > 24 || om > 59) return false;
            offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        }
        else return false;
        if (month is < 1 or > 12 || day < 1 || day > DaysIn(month, year) || hour > 23 || min > 59 || sec > 59) return false;
        var seconds = DaysFromCivil(year, month, day) * 86400L + hour * 3600 + min * 60 + sec - offset;
        return ToNanos(seconds, nanos, out ns) || !(outOfRange = true);
    }

    /// <summary>True when <paramref name="s"/> is RFC 3339 date-time text (any year), e.g. for JSON Schema's
    /// <c>date-time</c> format.</summary>
    internal static bool TryParseRfc3339Lenient(string s) => TryParseRfc3339(s, out _, out var outOfRange) || outOfRange;

    private static bool Digits(string s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length) return false;
        for (int i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(s[i])) return false;
            value = value * 10 + (s[i] - '0');
        }
        return true;
    }

    private static bool ToNanos(long seconds, long nanos, out long ns)
    {
        var total = (Int128)seconds * NanosPerSecond + nanos;
        ns = 0;
        if (total > long.MaxValue || total < long.MinValue) return false;
        ns = (long)total;
        return true;
    }

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (any year, including 0 and negatives).</summary>
    internal static long DaysFromCivil(long y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    private static bool IsLeap(long y) => y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    private static int DaysIn(int month, long year) => month == 2 ? (IsLeap(year) ? 29 : 28) : month is 4 or 6 or 9 or 11 ? 30 : 31;

    private static string NamedLayout(string layout) => layout switch
    {
        "ANSIC" => "Mon Jan _2 15:04:05 2006",
        "UnixDate" => "Mon Jan _2 15:04:05 MST 2006",
        "RubyDate" => "Mon Jan 02 15:04:05 -0700 2006",
        "RFC822" => "02 Jan 06 15:04 MST",
        "RFC822Z" => "02 Jan 06 15:04 -0700",
        "RFC850" => "Monday, 02-Jan-06 15:04:05 MST",
        "RFC1123" => "Mon, 02 Jan 2006 15:04:05 MST",
        "RFC1123Z" => "Mon, 02 Jan 2006 15:04:05 -0700",
        "RFC3339" => "2006-01-02T15:04:05Z07:00",
        "RFC3339Nano" => "2006-01-02T15:04:05.999999999Z07:00",
        "Kitchen" => "3:04PM",
        "Stamp" => "Jan _2 15:04:05",
        "StampMilli" => "Jan _2 15:04:05.000",
        "StampMicro" => "Jan _2 15:04:05.000000",
        "StampNano" => "Jan _2 15:04:05.000000000",
        "DateTime" => "2006-01-02 15:04:05",
        "DateOnly" => "2006-01-02",
        "TimeOnly" => "15:04:05",
        _ => layout,
    };

    // Go layout elements.
    private enum Std
    {
        None, LongMonth, Month, NumMonth, ZeroMonth, LongWeekDay, WeekDay, Day, UnderDay, ZeroDay, UnderYearDay, ZeroYearDay,
        Hour, Hour12, ZeroHour12, Minute, ZeroMinute, Second, ZeroSecond, LongYear, Year, PM, pm, TZ,
        ISO8601TZ, ISO8601SecondsTZ, ISO8601ShortTZ, ISO8601ColonTZ, ISO8601ColonSecondsTZ,
        NumTZ, NumSecondsTz, NumShortTZ, NumColonTZ, NumColonSecondsTZ, FracSecond0, FracSecond9,
    }

    /// <summary>Finds the next layout element at or after <paramref name="start"/>: returns its index (or the layout
    /// length), kind, length, and for fractional seconds the digit count. Mirrors Go's <c>nextStdChunk</c>.</summary>
    private static (int Index, Std Std, int Length, int Digits) NextChunk(string l, int start)
    {
        for (int i = start; i < l.Length; i++)
        {
            bool At(string t) => string.CompareOrdinal(l, i, t, 0, t.Length) == 0 && i + t.Length <= l.Length;
            switch (l[i])
            {
                case 'J':
                    if (At("January")) return (i, Std.LongMonth, 7, 0);
                    if (At("Jan")) return (i, Std.Month, 3, 0);
                    break;
                case 'M':
                    if (At("Monday")) return (i, Std.LongWeekDay, 6, 0);
                    if (At("Mon")) return (i, Std.WeekDay, 3, 0);
                    if (At("MST")) return (i, Std.TZ, 3, 0);
                    break;
                case '0':
                    if (i + 1 < l.Length && l[i + 1] >= '1' && l[i + 1] <= '6')
                        return (i, l[i + 1] switch { '1' => Std.ZeroMonth, '2' => Std.ZeroDay, '3' => Std.ZeroHour12, '4' => Std.ZeroMinute, '5' => Std.ZeroSecond, _ => Std.Year }, 2, 0);
                    if (At("002")) return (i, Std.ZeroYearDay, 3, 0);
                    break;
                case '1':
                    if (At("15")) return (i, Std.Hour, 2, 0);
                    return (i, Std.NumMonth, 1, 0);
                case '2':
                    if (At("2006")) return (i, Std.LongYear, 4, 0);
                    return (i, Std.Day, 1, 0);
                case '_':
                    if (At("_2"))
                    {
                        if (At("_2006")) return (i + 1, Std.LongYear, 4, 0); // "_" is literal text here
                        return (i, Std.UnderDay, 2, 0);
                    }
                    if (At("__2")) return (i, Std.UnderYearDay, 3, 0);
                    break;
                case '3': return (i, Std.Hour12, 1, 0);
                case '4': return (i, Std.Minute, 1, 0);
                case '5': return (i, Std.Second, 1, 0);
                case 'P':
                    if (At("PM")) return (i, Std.PM, 2, 0);
                    break;
                case 'p':
                    if (At("pm")) return (i, Std.pm, 2, 0);
                    break;
                case '-':
                    if (At("-070000")) return (i, Std.NumSecondsTz, 7, 0);
                    if (At("-07:00:00")) return (i, Std.NumColonSecondsTZ, 9, 0);
                    if (At("-0700")) return (i, Std.NumTZ, 5, 0);
                    if (At("-07:00")) return (i, Std.NumColonTZ, 6, 0);
                    if (At("-07")) return (i, Std.NumShortTZ, 3, 0);
                    break;
                case 'Z':
                    if (At("Z070000")) return (i, Std.ISO8601SecondsTZ, 7, 0);
                    if (At("Z07:00:00")) return (i, Std.ISO8601ColonSecondsTZ, 9, 0);
                    if (At("Z0700")) return (i, Std.ISO8601TZ, 5, 0);
                    if (At("Z07:00")) return (i, Std.ISO8601ColonTZ, 6, 0);
                    if (At("Z07")) return (i, Std.ISO8601ShortTZ, 3, 0);
                    break;
                case '.' or ',':
                    if (i + 1 < l.Length && (l[i + 1] == '0' || l[i + 1] == '9'))
                    {
                        char ch = l[i + 1];
                        int j = i + 1;
                        while (j < l.Length && l[j] == ch) j++;
                        if (j >= l.Length || !char.IsAsciiDigit(l[j]))
                            return (i, ch == '0' ? Std.FracSecond0 : Std.FracSecond9, j - i, j - i - 1);
                    }
                    break;
            }
        }
        return (l.Length, Std.None, 0, 0);
    }

    private static BuiltinException ParseError(string name, string layout, string value, string detail)
        => BuiltinException.Error(name, $"parsing time {Value.JsonQuote(value)} as {Value.JsonQuote(layout)}: {detail}");

    /// <summary>Go's <c>time.Parse(layout, value)</c> returning Unix nanoseconds; elements missing from the layout
    /// default as in Go (year 0, January 1). Errors are <see cref="BuiltinException"/>s.</summary>
    internal static long GoParse(string name, string layout, string value)
    {
        long year = 0; int month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0;
        long nanos = 0;
        bool pmSet = false, amSet = false;
        int? offset = null;
        int li = 0;
        var v = value.AsSpan();
        while (true)
        {
            var (idx, std, len, ndig) = NextChunk(layout, li);
            // Literal text before the element, runs of spaces equivalent.
            var prefix = layout.AsSpan(li, idx - li);
            if (!SkipPrefix(ref v, prefix)) throw ParseError(name, layout, value, $"cannot parse {Value.JsonQuote(v.ToString())} as {Value.JsonQuote(prefix.ToString())}");
            if (std == Std.None)
            {
                if (v.Length > 0) throw ParseError(name, layout, value, $"extra text: {Value.JsonQuote(v.ToString())}");
                break;
            }
            li = idx + len;
            var element = layout.Substring(idx, len);
            switch (std)
            {
                case Std.Year:
                    if (v.Length < 2 || !int.TryParse(v[..2], NumberStyles.None, CultureInfo.InvariantCulture, out var y2)) throw ParseError(name, layout, value, BadText(v, element));
                    year = y2 >= 69 ? 1900 + y2 : 2000 + y2;
                    v = v[2..];
                    break;
                case Std.LongYear:
                    if (v.Length < 4 || !int.TryParse(v[..4], NumberStyles.None, CultureInfo.InvariantCulture, out var y4)) throw ParseError(name, layout, value, BadText(v, element));
                    year = y4;
                    v = v[4..];
                    break;
                case Std.Month or Std.LongMonth:
                    month = Lookup(ref v, MonthNames, std == Std.Month) + 1;
                    if (month == 0) throw ParseError(name, layout, value, BadText(v, element));
                    break;
                case Std.NumMonth or Std.ZeroMonth:
                    if (!GetNum(ref v, std == Std.ZeroMonth, 2, out month) || month is < 1 or > 12) throw ParseError(name, layout, value, "month out of range");
                    break;
                case Std.WeekDay or Std.LongWeekDay:
                    if (Lookup(ref v, DayNames, std == Std.WeekDay) < 0) throw ParseError(name, layout, value, BadText(v, element));
                    break;
                case Std.Day or Std.UnderDay or Std.ZeroDay:
                    if (std == Std.UnderDay && v.Length > 0 && v[0] == ' ') v = v[1..];
                    if (!GetNum(ref v, std == Std.ZeroDay, 2, out day)) throw ParseError(name, layout, value, BadText(v, element));
                    break;
                case Std.UnderYearDay or Std.ZeroYearDay:
                    for (int k = 0; k < 2 && std == Std.UnderYearDay && v.Length > 0 && v[0] == ' '; k++) v = v[1..];
                    if (!GetNum(ref v, std == Std.ZeroYearDay, 3, out yday) || yday is < 1 or > 366) throw ParseError(name, layout, value, "day-of-year out of range");
                    break;
                case Std.Hour:
                    if (!GetNum(ref v, false, 2, out hour) || hour > 23) throw ParseError(name, layout, value, "hour out of range");
                    break;
                case Std.Hour12 or Std.ZeroHour12:
                    if (!GetNum(ref v, std == Std.ZeroHour12, 2, out hour) || hour > 12) throw ParseError(name, layout, value, "hour out of range");
                    break;
                case Std.Minute or Std.ZeroMinute:
                    if (!GetNum(ref v, std == Std.ZeroMinute, 2, out min) || min > 59) throw ParseError(name, layout, value, "minute out of range");
                    break;
                case Std.Second or Std.ZeroSecond:
                    if (!GetNum(ref v, std == Std.ZeroSecond, 2, out sec) || sec > 59) throw ParseError(name, layout, value, "second out of range");
                    // A fraction in the value with none in the layout is accepted, as Go does.
                    if (v.Length >= 2 && (v[0] == '.' || v[0] == ',') && char.IsAsciiDigit(v[1]))
                    {
                        var next = NextChunk(layout, li);
                        if (next.Std is Std.FracSecond0 or Std.FracSecond9 && next.Index == li) break;
                        int n = 1;
                        while (n < v.Length && char.IsAsciiDigit(v[n])) n++;
                        nanos = Fraction(v[1..n]);
                        v = v[n..];
                    }
                    break;
                case Std.PM:
                    if (v.Length < 2) throw ParseError(name, layout, value, BadText(v, element));
                    if (v[..2].SequenceEqual("PM")) pmSet = true; else if (v[..2].SequenceEqual("AM")) amSet = true; else throw ParseError(name, layout, value, BadText(v, element));
                    v = v[2..];
                    break;
                case Std.pm:
                    if (v.Length < 2) throw ParseError(name, layout, value, BadText(v, element));
                    if (v[..2].SequenceEqual("pm")) pmSet = true; else if (v[..2].SequenceEqual("am")) amSet = true; else throw ParseError(name, layout, value, BadText(v, element));
                    v = v[2..];
                    break;
                case Std.ISO8601TZ or Std.ISO8601ColonTZ or Std.ISO8601SecondsTZ or Std.ISO8601ShortTZ or Std.ISO8601ColonSecondsTZ
                    or Std.NumTZ or Std.NumShortTZ or Std.NumColonTZ or Std.NumSecondsTz or Std.NumColonSecondsTZ:
                {
                    if (std is >= Std.ISO8601TZ and <= Std.ISO8601ColonSecondsTZ && v.Length >= 1 && v[0] == 'Z') { v = v[1..]; offset = 0; break; }
                    bool colon = std is Std.ISO8601ColonTZ or Std.ISO8601ColonSecondsTZ or Std.NumColonTZ or Std.NumColonSecondsTZ;
                    bool withSeconds = std is Std.ISO8601SecondsTZ or Std.ISO8601ColonSecondsTZ or Std.NumSecondsTz or Std.NumColonSecondsTZ;
                    bool shortForm = std is Std.ISO8601ShortTZ or Std.NumShortTZ;
                    int need = 3 + (shortForm ? 0 : (colon ? 3 : 2)) + (withSeconds ? (colon ? 3 : 2) : 0);
                    if (v.Length < need || (v[0] != '+' && v[0] != '-')) throw ParseError(name, layout, value, BadText(v, element));
                    int p = 1;
                    bool ok = Two(v, p, out var hh); p += 2;
                    int mm = 0, ss = 0;
                    if (!shortForm)
                    {
                        if (colon) { ok &= v[p] == ':'; p++; }
                        ok &= Two(v, p, out mm); p += 2;
                    }
                    if (withSeconds)
                    {
                        if (colon) { ok &= v[p] == ':'; p++; }
                        ok &= Two(v, p, out ss); p += 2;
                    }
                    if (!ok || hh > 24 || mm > 60 || ss > 60) throw ParseError(name, layout, value, BadText(v, element));
                    offset = (hh * 3600 + mm * 60 + ss) * (v[0] == '-' ? -1 : 1);
                    v = v[p..];
                    break;
                }
                case Std.TZ:
                {
                    if (v.Length >= 3 && v[..3].SequenceEqual("UTC")) { v = v[3..]; offset = 0; break; }
                    int n = 0;
                    while (n < v.Length && char.IsAsciiLetterUpper(v[n])) n++;
                    if (n < 3) throw ParseError(name, layout, value, BadText(v, element));
                    // Unknown abbreviations get offset 0, as Go fabricates such zones.
                    offset = 0;
                    v = v[n..];
                    break;
                }
                case Std.FracSecond0:
                {
                    if (v.Length < ndig + 1 || v[0] != layout[idx]) throw ParseError(name, layout, value, BadText(v, element));
                    var digits = v[1..(ndig + 1)];
                    foreach (var ch in digits) if (!char.IsAsciiDigit(ch)) throw ParseError(name, layout, value, BadText(v, element));
                    nanos = Fraction(digits);
                    v = v[(ndig + 1)..];
                    break;
                }
                case Std.FracSecond9:
                {
                    if (v.Length < 2 || (v[0] != '.' && v[0] != ',') || !char.IsAsciiDigit(v[1])) break;
                    int n = 1;
                    while (n < v.Length && char.IsAsciiDigit(v[n])) n++;
                    nanos = Fraction(v[1..n]);
                    v = v[n..];
                    break;
                }
            }
        }
        if (pmSet && hour < 12) hour += 12;
        else if (amSet && hour == 12) hour = 0;
        if (yday >= 0)
        {
            // Day of year: derive (or check) month and day.
            int m = 1, d = yday;
            if (yday > (IsLeap(year) ? 366 : 365)) throw ParseError(name, layout, value, "day-of-year out of range");
            while (d > DaysIn(m, year)) { d -= DaysIn(m, year); m++; }
            if ((month >= 0 && month != m) || (day >= 0 && day != d)) throw ParseError(name, layout, value, "day-of-year does not match month");
            month = m; day = d;
        }
        if (month < 0) month = 1;
        if (day < 0) day = 1;
        if (day < 1 || day > DaysIn(month, year)) throw ParseError(name, layout, value, "day out of range");
        var seconds = DaysFromCivil(year, month, day) * 86400L + hour * 3600 + min * 60 + sec - (offset ?? 0);
        if (!ToNanos(seconds, nanos, out var ns)) throw BuiltinException.Error(name, "time outside of valid range");
        return ns;
    }

    private static string BadText(ReadOnlySpan<char> v, string element) => $"cannot parse {Value.JsonQuote(v.ToString())} as {Value.JsonQuote(element)}";

    private static bool Two(ReadOnlySpan<char> v, int p, out int value)
    {
        value = 0;
        if (p + 2 > v.Length || !char.IsAsciiDigit(v[p]) || !char.IsAsciiDigit(v[p + 1])) return false;
        value = (v[p] - '0') * 10 + (v[p + 1] - '0');
        return true;
    }

    private static long Fraction(ReadOnlySpan<char> digits)
    {
        long n = 0;
        for (int k = 0; k < 9; k++) n = n * 10 + (k < digits.Length ? digits[k] - '0' : 0);
        return n;
    }

    private static bool SkipPrefix(ref ReadOnlySpan<char> v, ReadOnlySpan<char> prefix)
    {
        while (prefix.Length > 0)
        {
            if (prefix[0] == ' ')
            {
                if (v.Length > 0 && v[0] != ' ') return false;
                prefix = prefix.TrimStart(' ');
                v = v.TrimStart(' ');
                continue;
            }
            if (v.Length == 0 || v[0] != prefix[0]) return false;
            prefix = prefix[1..];
            v = v[1..];
        }
        return true;
    }

    /// <summary>Go's getnum: a fixed-width number when <paramref name="fixedWidth"/>, else 1 to max digits.</summary>
    private static bool GetNum(ref ReadOnlySpan<char> v, bool fixedWidth, int max, out int value)
    {
        value = 0;
        int n = 0;
        while (n < v.Length && n < max && char.IsAsciiDigit(v[n])) { value = value * 10 + (v[n] - '0'); n++; }
        if (n == 0 || (fixedWidth && n != max)) return false;
        v = v[n..];
        return true;
    }

    private static int Lookup(ref ReadOnlySpan<char> v, string[] names, bool abbreviated)
    {
        for (int k = 0; k < names.Length; k++)
        {
            var candidate = abbreviated ? names[k].AsSpan(0, 3) : names[k].AsSpan();
            if (v.Length >= candidate.Length && v[..candidate.Length].Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                v = v[candidate.Length..];
                return k;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ durations

    private static Value ParseDurationNs(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "time.parse_duration_ns";
        var s = Operands.Str(name, args, 0);
        return NumberValue.FromInt64(ParseDuration(name, s));
    }

    /// <summary>Go's <c>time.ParseDuration</c>: <c>[-+]?(\d*(\.\d*)?unit)+</c> with units
    /// ns, us (µs, μs), ms, s, m, h, or "0"; the result must fit int64 nanoseconds.</summary>
    internal static long ParseDuration(string name, string s)
    {
        BuiltinException Invalid() => BuiltinException.Error(name, $"time: invalid duration {Value.JsonQuote(s)}");
        var orig = s;
        int i = 0;
        bool neg = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+')) { neg = s[i] == '-'; i++; }
        if (s.AsSpan(i).SequenceEqual("0")) return 0;
        if (i == s.Length) throw Invalid();
        BigInteger total = 0;
        while (i < s.Length)
        {
            if (!(char.IsAsciiDigit(s[i]) || s[i] == '.')) throw Invalid();
            int start = i;
            BigInteger whole = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { whole = whole * 10 + (s[i] - '0'); i++; }
            bool pre = i > start;
            BigInteger frac = 0, scale = 1;
            bool post = false;
            if (i < s.Length && s[i] == '.')
            {
                i++;
                int fs = i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) { frac = frac * 10 + (s[i] - '0'); scale *= 10; i++; }
                post = i > fs;
            }
            if (!pre && !post) throw Invalid();
            int us = i;
            while (i < s.Length && s[i] != '.' && !char.IsAsciiDigit(s[i])) i++;
            if (us == i) throw BuiltinException.Error(name, $"time: missing unit in duration {Value.JsonQuote(orig)}");
            long unit = s[us..i] switch
            {
                "ns" => 1, "us" or "\u00b5s" or "\u03bcs" => 1000, "ms" => 1_000_000, "s" => NanosPerSecond,
                "m" => 60 * NanosPerSecond, "h" => 3600 * NanosPerSecond,
                var u => throw BuiltinException.Error(name, $"time: unknown unit {Value.JsonQuote(u)} in duration {Value.JsonQuote(orig)}"),
            };
            total += whole * unit + frac * unit / scale;
            if (total > (BigInteger)long.MaxValue + 1) throw Invalid();
        }
        if (neg) total = -total;
        if (total > long.MaxValue || total < long.MinValue) throw Invalid();
        return (long)total;
    }

    // ------------------------------------------------------------------ calendar

    /// <summary>A point in time in a zone: the zone-local wall clock plus the sub-tick nanoseconds.</summary>
    private readonly record struct ZonedTime(DateTimeOffset Local, int SubTickNanos);

    private static readonly ConcurrentDictionary<string, TimeZoneInfo?> Zones = new(StringComparer.Ordinal);

    private static TimeZoneInfo Zone(string name, string tz)
    {
        if (tz is "" or "UTC") return TimeZoneInfo.Utc;
        if (tz == "Local") return TimeZoneInfo.Local;
        var zone = Zones.GetOrAdd(tz, static id =>
        {
            try { return TimeZoneInfo.FindSystemTimeZoneById(id); }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException) { return null; }
        });
        return zone ?? throw BuiltinException.Error(name, $"unknown time zone {tz}");
    }

    private static ZonedTime At(long ns, TimeZoneInfo zone)
    {
        long ticks = Math.DivRem(ns, 100, out var rem);
        if (rem < 0) { rem += 100; ticks--; }
        var utc = new DateTimeOffset(DateTime.UnixEpoch.Ticks + ticks, TimeSpan.Zero);
        return new ZonedTime(zone == TimeZoneInfo.Utc ? utc : TimeZoneInfo.ConvertTime(utc, zone), (int)rem);
    }

    /// <summary>OPA's tzTime: a number of nanoseconds, or <c>[ns]</c>, <c>[ns, tz]</c>, <c>[ns, tz, layout]</c>.</summary>
    private static (long Ns, TimeZoneInfo Zone, string? Layout) TzTime(string name, Value v, int operand)
    {
        Value nsValue = v;
        TimeZoneInfo zone = TimeZoneInfo.Utc;
        string? layout = null;
        if (v is ArrayValue a)
        {
            if (a.Count is < 1 or > 3) throw BuiltinException.Error(name, "array should have 1, 2 or 3 elements");
            nsValue = a[0];
            if (a.Count > 1) zone = Zone(name, a[1] as StringValue is { } z ? z.Value : throw BuiltinException.OperandType(name, operand, "string", a[1]));
            if (a.Count > 2) layout = NamedLayout(a[2] as StringValue is { } l ? l.Value : throw BuiltinException.OperandType(name, operand, "string", a[2]));
        }
        else if (v is not NumberValue) throw BuiltinException.OperandType(name, operand, "one of {number, array}", v);
        if (nsValue is not NumberValue n) throw BuiltinException.OperandType(name, operand, "number", nsValue);
        long ns;
        if (n.TryGetInt64(out var l64)) ns = l64;
        else
        {
            var d = n.ToDouble();
            if (n.IsInteger || d >= 9.223372036854775807E18 || d < -9.223372036854775808E18) throw BuiltinException.Error(name, "timestamp too big");
            ns = (long)Math.Truncate(d);
        }
        return (ns, zone, layout);
    }

    private static Value Date(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var (ns, zone, _) = TzTime("time.date", args[0], 1);
        var t = At(ns, zone).Local;
        return new ArrayValue([NumberValue.FromInt64(t.Year), NumberValue.FromInt64(t.Month), NumberValue.FromInt64(t.Day)]);
    }

    private static Value Clock(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var (ns, zone, _) = TzTime("time.clock", args[0], 1);
        var t = At(ns, zone).Local;
        return new ArrayValue([NumberValue.FromInt64(t.Hour), NumberValue.FromInt64(t.Minute), NumberValue.FromInt64(t.Second)]);
    }

    private static Value Weekday(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var (ns, zone, _) = TzTime("time.weekday", args[0], 1);
        return new StringValue(DayNames[(int)At(ns, zone).Local.DayOfWeek]);
    }

    private static Value AddDate(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "time.add_date";
        var ns = MoreOperands.Int(name, args, 0);
        var years = MoreOperands.Int(name, args, 1);
        var months = MoreOperands.Int(name, args, 2);
        var days = MoreOperands.Int(name, args, 3);
        var t = At(ns, TimeZoneInfo.Utc);
        var dt = t.Local.UtcDateTime;
        // Go's AddDate normalizes: month overflow carries into years, day overflow into months (Oct 31 + 1 month = Dec 1).
        var totalMonths = (BigInteger)dt.Year * 12 + (dt.Month - 1) + years * (BigInteger)12 + months;
        var newYear = BigInteger.Divide(totalMonths, 12);
        var newMonth = (int)(totalMonths - newYear * 12);
        if (newMonth < 0) { newMonth += 12; newYear -= 1; }
        if (BigInteger.Abs(newYear) > 100_000_000) throw BuiltinException.Error(name, "time outside of valid range");
        var dayNumber = DaysFromCivil((long)newYear, newMonth + 1, 1) + (dt.Day - 1) + (BigInteger)days;
        var seconds = dayNumber * 86400 + dt.TimeOfDay.Ticks / TimeSpan.TicksPerSecond;
        var total = seconds * NanosPerSecond + (dt.Ticks % TimeSpan.TicksPerSecond) * 100 + t.SubTickNanos;
        if (total > long.MaxValue || total < long.MinValue) throw BuiltinException.Error(name, "time outside of valid range");
        return NumberValue.FromInt64((long)total);
    }

    private static Value Diff(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "time.diff";
        var (ns1, zone1, _) = TzTime(name, args[0], 1);
        var (ns2, _, _) = TzTime(name, args[1], 2);
        // Both in the first operand's zone; order so that t1 <= t2.
        if (ns1 > ns2) (ns1, ns2) = (ns2, ns1);
        var t1 = At(ns1, zone1).Local;
        var t2 = At(ns2, zone1).Local;
        int year = t2.Year - t1.Year, month = t2.Month - t1.Month, day = t2.Day - t1.Day;
        int hour = t2.Hour - t1.Hour, min = t2.Minute - t1.Minute, sec = t2.Second - t1.Second;
        if (sec < 0) { sec += 60; min--; }
        if (min < 0) { min += 60; hour--; }
        if (hour < 0) { hour += 24; day--; }
        if (day < 0) { day += DaysIn(t1.Month, t1.Year); month--; }
        if (month < 0) { month += 12; year--; }
        return new ArrayValue([NumberValue.FromInt64(year), NumberValue.FromInt64(month), NumberValue.FromInt64(day),
            NumberValue.FromInt64(hour), NumberValue.FromInt64(min), NumberValue.FromInt64(sec)]);
    }

    // ------------------------------------------------------------------ formatting

    private static Value Format(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var (ns, zone, layout) = TzTime("time.format", args[0], 1);
        return new StringValue(GoFormat(At(ns, zone), zone, layout ?? "2006-01-02T15:04:05.999999999Z07:00"));
    }

    private static string GoFormat(ZonedTime zt, TimeZoneInfo zone, string layout)
    {
        var t = zt.Local;
        long nanos = (t.Ticks % TimeSpan.TicksPerSecond) * 100 + zt.SubTickNanos;
        int offset = (int)t.Offset.TotalSeconds;
        var sb = new StringBuilder(layout.Length + 10);
        int li = 0;
        while (true)
        {
            var (idx, std, len, ndig) = NextChunk(layout, li);
            sb.Append(layout, li, idx - li);
            if (std == Std.None) break;
            li = idx + len;
            switch (std)
            {
                case Std.Year: Pad(sb, t.Year % 100, 2); break;
                case Std.LongYear: Pad(sb, t.Year, 4); break;
                case Std.Month: sb.Append(MonthNames[t.Month - 1], 0, 3); break;
                case Std.LongMonth: sb.Append(MonthNames[t.Month - 1]); break;
                case Std.NumMonth: sb.Append(t.Month); break;
                case Std.ZeroMonth: Pad(sb, t.Month, 2); break;
                case Std.WeekDay: sb.Append(DayNames[(int)t.DayOfWeek], 0, 3); break;
                case Std.LongWeekDay: sb.Append(DayNames[(int)t.DayOfWeek]); break;
                case Std.Day: sb.Append(t.Day); break;
                case Std.UnderDay: if (t.Day < 10) sb.Append(' '); sb.Append(t.Day); break;
                case Std.ZeroDay: Pad(sb, t.Day, 2); break;
                case Std.UnderYearDay: sb.Append(t.DayOfYear.ToString(CultureInfo.InvariantCulture).PadLeft(3)); break;
                case Std.ZeroYearDay: Pad(sb, t.DayOfYear, 3); break;
                case Std.Hour: Pad(sb, t.Hour, 2); break;
                case Std.Hour12: sb.Append(t.Hour % 12 == 0 ? 12 : t.Hour % 12); break;
                case Std.ZeroHour12: Pad(sb, t.Hour % 12 == 0 ? 12 : t.Hour % 12, 2); break;
                case Std.Minute: sb.Append(t.Minute); break;
                case Std.ZeroMinute: Pad(sb, t.Minute, 2); break;
                case Std.Second: sb.Append(t.Second); break;
                case Std.ZeroSecond: Pad(sb, t.Second, 2); break;
                case Std.PM: sb.Append(t.Hour >= 12 ? "PM" : "AM"); break;
                case Std.pm: sb.Append(t.Hour >= 12 ? "pm" : "am"); break;
                case Std.TZ:
                    if (zone == TimeZoneInfo.Utc || zone.Id is "UTC" or "Etc/UTC") sb.Append("UTC");
                    else if (Abbreviation(zone, t.ToUnixTimeSeconds(), offset, zone.IsDaylightSavingTime(t)) is { } abbr) sb.Append(abbr);
                    else FormatOffset(sb, offset, colon: false, seconds: false, shortForm: false); // Go's form for unnamed zones
                    break;
                case Std.ISO8601TZ or Std.ISO8601ColonTZ or Std.ISO8601SecondsTZ or Std.ISO8601ShortTZ or Std.ISO8601ColonSecondsTZ
                    when offset == 0:
                    sb.Append('Z');
                    break;
                case Std.ISO8601TZ or Std.NumTZ: FormatOffset(sb, offset, false, false, false); break;
                case Std.ISO8601ColonTZ or Std.NumColonTZ: FormatOffset(sb, offset, true, false, false); break;
                case Std.ISO8601SecondsTZ or Std.NumSecondsTz: FormatOffset(sb, offset, false, true, false); break;
                case Std.ISO8601ColonSecondsTZ or Std.NumColonSecondsTZ: FormatOffset(sb, offset, true, true, false); break;
                case Std.ISO8601ShortTZ or Std.NumShortTZ: FormatOffset(sb, offset, false, false, true); break;
                case Std.FracSecond0:
                    sb.Append(layout[idx]).Append(nanos.ToString("D9", CultureInfo.InvariantCulture), 0, ndig);
                    break;
                case Std.FracSecond9:
                {
                    var digits = nanos.ToString("D9", CultureInfo.InvariantCulture)[..ndig].TrimEnd('0');
                    if (digits.Length > 0) sb.Append(layout[idx]).Append(digits);
                    break;
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>A TZif file's local time types and its transitions (unix seconds, type index).</summary>
    private sealed record TzInfo((int Offset, bool Dst, string Name)[] Types, (long At, int Type)[] Transitions);

    private static readonly ConcurrentDictionary<string, TzInfo> Abbreviations = new(StringComparer.Ordinal);

    /// <summary>The zone's abbreviation (EST, CEST, IST, ...) for an offset, read from the tz database file the
    /// zone came from; null when unknown. (.NET exposes no abbreviations; Go prints them for <c>MST</c>.)</summary>
    private static string? Abbreviation(TimeZoneInfo zone, long unixSeconds, int offset, bool dst)
    {
        var info = Abbreviations.GetOrAdd(zone.Id, static id => ReadTzif(id));
        var types = info.Types;
        bool Fits(int type) => type < types.Length && types[type].Offset == offset && types[type].Dst == dst;
        // The type in force at that instant; past the last transition, the most recent type with this offset.
        var tr = info.Transitions;
        int lo = 0, hi = tr.Length - 1, last = -1;
        while (lo <= hi) { int mid = (lo + hi) / 2; if (tr[mid].At <= unixSeconds) { last = mid; lo = mid + 1; } else hi = mid - 1; }
        if (last >= 0 && Fits(tr[last].Type)) return types[tr[last].Type].Name;
        for (int i = tr.Length - 1; i >= 0; i--) if (Fits(tr[i].Type)) return types[tr[i].Type].Name;
        for (int i = types.Length - 1; i >= 0; i--) if (Fits(i)) return types[i].Name;
        return null;
    }

    /// <summary>The local time types (UTC offset, DST flag, abbreviation) and transitions of a TZif file; empty
    /// when unreadable.</summary>
    private static TzInfo ReadTzif(string id)
    {
        var none = new TzInfo([], []);
        try
        {
            if (id.Contains("..")) return none;
            var path = Path.Combine("/usr/share/zoneinfo", id);
            if (!File.Exists(path)) return none;
            var data = File.ReadAllBytes(path);
            if (data.Length < 44 || data[0] != 'T' || data[1] != 'Z' || data[2] != 'i' || data[3] != 'f') return none;
            int Count(int at, int k) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(at + 20 + 4 * k, 4));
            int pos = 0, timeSize = 4;
            // Version 2+ files repeat the data with 64-bit times after the version 1 block; the second block is
            // authoritative (version 1 data may be empty in "slim" files).
            if (data[4] >= '2')
            {
                pos = 44 + Count(0, 3) * 5 + Count(0, 4) * 6 + Count(0, 5) + Count(0, 2) * 8 + Count(0, 1) + Count(0, 0);
                timeSize = 8;
            }
            int timecnt = Count(pos, 3), typecnt = Count(pos, 4), charcnt = Count(pos, 5);
            int typesAt = pos + 44 + timecnt * (timeSize + 1);
            int charsAt = typesAt + typecnt * 6;
            if (charsAt + charcnt > data.Length) return none;
            var transitions = new (long, int)[timecnt];
            for (int k = 0; k < timecnt; k++)
            {
                var at = pos + 44 + k * timeSize;
                long when = timeSize == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(at, 8)) : System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(at, 4));
                transitions[k] = (when, data[pos + 44 + timecnt * timeSize + k]);
            }
            var result = new (int, bool, string)[typecnt];
            for (int k = 0; k < typecnt; k++)
            {
                var at = typesAt + k * 6;
                int utoff = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(at, 4));
                int idx = data[at + 5];
                int end = idx;
                while (end < charcnt && data[charsAt + end] != 0) end++;
                result[k] = (utoff, data[at + 4] != 0, Encoding.ASCII.GetString(data, charsAt + idx, Math.Max(0, end - idx)));
            }
            return new TzInfo(result, transitions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            return none;
        }
    }

    private static void Pad(StringBuilder sb, int v, int width) => sb.Append(v.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));

    private static void FormatOffset(StringBuilder sb, int offset, bool colon, bool seconds, bool shortForm)
    {
        sb.Append(offset < 0 ? '-' : '+');
        var abs = Math.Abs(offset);
        Pad(sb, abs / 3600, 2);
        if (!shortForm)
        {
            if (colon) sb.Append(':');
            Pad(sb, abs / 60 % 60, 2);
        }
        if (seconds)
        {
            if (colon) sb.Append(':');
            Pad(sb, abs % 60, 2);
        }
    }
}
