using System.Numerics;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>semver.is_valid</c> and <c>semver.compare</c> under Semantic Versioning 2.0.0: <c>MAJOR.MINOR.PATCH</c>
/// without leading zeros, optional <c>-prerelease</c> (dot-separated; numeric identifiers without leading zeros)
/// and <c>+build</c> (ignored in comparisons). No "v" prefix.
/// </summary>
public static class SemverBuiltins
{
    /// <summary>Registers the semver built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("semver.is_valid", 1, (c, a) => Value.Bool(a[0] is StringValue s && TryParse(s.Value, out _)), [BuiltinType.Any]);
        b.Add("semver.compare", 2, Compare, [BuiltinType.String, BuiltinType.String]);
    }

    /// <summary>A parsed version: numeric core and pre-release identifiers.</summary>
    internal readonly record struct Version(BigInteger Major, BigInteger Minor, BigInteger Patch, string[] Pre);

    /// <summary>Parses a SemVer 2.0.0 string; false when invalid.</summary>
    internal static bool TryParse(string s, out Version v)
    {
        v = default;
        int plus = s.IndexOf('+');
        if (plus >= 0)
        {
            var build = s[(plus + 1)..];
            if (!build.Split('.').All(id => id.Length > 0 && id.All(IsIdentChar))) return false;
            s = s[..plus];
        }
        string[] pre = [];
        int dash = s.IndexOf('-');
        if (dash >= 0)
        {
            pre = s[(dash + 1)..].Split('.');
            foreach (var id in pre)
            {
                if (id.Length == 0 || !id.All(IsIdentChar)) return false;
                if (id.All(char.IsAsciiDigit) && id.Length > 1 && id[0] == '0') return false;
            }
            s = s[..dash];
        }
        var parts = s.Split('.');
        if (parts.Length != 3) return false;
        var nums = new BigInteger[3];
        for (int i = 0; i < 3; i++)
        {
            var p = parts[i];
            if (p.Length == 0 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0')) return false;
            nums[i] = BigInteger.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
        }
        v = new Version(nums[0], nums[1], nums[2], pre);
        return true;
    }

    private static bool IsIdentChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '-';

    /// <summary>SemVer precedence: -1, 0 or 1.</summary>
    internal static int CompareVersions(Version a, Version b)
    {
        int c = a.Major.CompareTo(b.Major);
        if (c == 0) c = a.Minor.CompareTo(b.Minor);
        if (c == 0) c = a.Patch.CompareTo(b.Patch);
        if (c != 0) return Math.Sign(c);
        // A version without pre-release ranks above one with.
        if (a.Pre.Length == 0 && b.Pre.Length == 0) return 0;
        if (a.Pre.Length == 0) return 1;
        if (b.Pre.Length == 0) return -1;
        for (int i = 0; i < Math.Min(a.Pre.Length, b.Pre.Length); i++)
        {
            string x = a.Pre[i], y = b.Pre[i];
            bool xn = x.All(char.IsAsciiDigit), yn = y.All(char.IsAsciiDigit);
            if (xn && yn) c = BigInteger.Parse(x, System.Globalization.CultureInfo.InvariantCulture).CompareTo(BigInteger.Parse(y, System.Globalization.CultureInfo.InvariantCulture));
            else if (xn) c = -1;
            else if (yn) c = 1;
            else c = string.CompareOrdinal(x, y);
            if (c != 0) return Math.Sign(c);
        }
        return a.Pre.Length.CompareTo(b.Pre.Length);
    }

    private static Value Compare(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "semver.compare";
        var a = Operands.Str(name, args, 0);
        var b = Operands.Str(name, args, 1);
        if (!TryParse(a, out var va)) throw BuiltinException.Error(name, $"operand 1: string {Value.JsonQuote(a)} is not a valid SemVer");
        if (!TryParse(b, out var vb)) throw BuiltinException.Error(name, $"operand 2: string {Value.JsonQuote(b)} is not a valid SemVer");
        return NumberValue.FromInt64(CompareVersions(va, vb));
    }
}
