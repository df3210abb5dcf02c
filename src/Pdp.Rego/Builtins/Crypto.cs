using System.Security.Cryptography;
using System.Text;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Hash built-ins: <c>crypto.md5/sha1/sha256(s)</c> and <c>crypto.hmac.md5/sha1/sha256/sha512(x, key)</c> return
/// lowercase hex digests of the UTF-8 bytes; <c>crypto.hmac.equal(a, b)</c> compares two MACs in constant time.
/// </summary>
public static class CryptoBuiltins
{
    /// <summary>Registers the crypto built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("crypto.md5", 1, (c, a) => Hex(MD5.HashData(Bytes("crypto.md5", a, 0))), [BuiltinType.String]);
        b.Add("crypto.sha1", 1, (c, a) => Hex(SHA1.HashData(Bytes("crypto.sha1", a, 0))), [BuiltinType.String]);
        b.Add("crypto.sha256", 1, (c, a) => Hex(SHA256.HashData(Bytes("crypto.sha256", a, 0))), [BuiltinType.String]);
        b.Add("crypto.hmac.md5", 2, (c, a) => Hex(HMACMD5.HashData(Bytes("crypto.hmac.md5", a, 1), Bytes("crypto.hmac.md5", a, 0))), [BuiltinType.String, BuiltinType.String]);
        b.Add("crypto.hmac.sha1", 2, (c, a) => Hex(HMACSHA1.HashData(Bytes("crypto.hmac.sha1", a, 1), Bytes("crypto.hmac.sha1", a, 0))), [BuiltinType.String, BuiltinType.String]);
        b.Add("crypto.hmac.sha256", 2, (c, a) => Hex(HMACSHA256.HashData(Bytes("crypto.hmac.sha256", a, 1), Bytes("crypto.hmac.sha256", a, 0))), [BuiltinType.String, BuiltinType.String]);
        b.Add("crypto.hmac.sha512", 2, (c, a) => Hex(HMACSHA512.HashData(Bytes("crypto.hmac.sha512", a, 1), Bytes("crypto.hmac.sha512", a, 0))), [BuiltinType.String, BuiltinType.String]);
        b.Add("crypto.hmac.equal", 2, (c, a) => Value.Bool(CryptographicOperations.FixedTimeEquals(Bytes("crypto.hmac.equal", a, 0), Bytes("crypto.hmac.equal", a, 1))), [BuiltinType.String, BuiltinType.String]);
    }

    private static byte[] Bytes(string name, ReadOnlySpan<Value> args, int index) => Encoding.UTF8.GetBytes(Operands.Str(name, args, index));

    private static Value Hex(byte[] digest) => new StringValue(Convert.ToHexStringLower(digest));
}
