using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pdp.DecisionLog;

/// <summary>
/// The per-writer hash chain over decision records.
/// <c>record_hash = hex(SHA-256(bytes(prev_hash) || canonical(writer_id, seq, record)))</c> where
/// <c>bytes(prev_hash)</c> is the 32 raw bytes of the previous record's hash (64 zeros hex for the first record,
/// seq 1) and the canonical encoding is a fixed field order, each field tagged: <c>0x00</c> for null, or
/// <c>0x01</c> + big-endian int32 byte length + UTF-8 bytes; times as 8-byte big-endian microseconds since the
/// Unix epoch; lists as a count followed by their items. JSON fields enter as <see cref="CanonicalJson"/> text.
/// </summary>
public static class DecisionChain
{
    /// <summary>prev_hash of the first record of every chain.</summary>
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>
    /// The record as it will be stored: times truncated to microseconds (PostgreSQL precision) in UTC, JSON
    /// fields canonical, NUL characters and lone surrogates replaced (PostgreSQL text refuses them),
    /// null lists replaced by empty ones. Hashing and storage both use this form.
    /// </summary>
    public static DecisionRecord Normalize(DecisionRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (string.IsNullOrEmpty(r.DecisionId)) throw new ArgumentException("DecisionRecord.DecisionId is required.");
        if (string.IsNullOrEmpty(r.Decision)) throw new ArgumentException("DecisionRecord.Decision is required.");
        string? Json(string? text) => r.JsonCanonical ? text : CanonicalJson.Canonicalize(text);
        return r with
        {
            DecisionId = Clean(r.DecisionId)!,
            DecidedAt = Micros(r.DecidedAt),
            RequestId = Clean(r.RequestId),
            SpiffeId = Clean(r.SpiffeId),
            Issuer = Clean(r.Issuer),
            Subject = Clean(r.Subject),
            WorkloadAttributesJson = Json(r.WorkloadAttributesJson),
            Server = Clean(r.Server),
            Tool = Clean(r.Tool) ?? "",
            AnnotationsJson = Json(r.AnnotationsJson),
            ResourceType = Clean(r.ResourceType),
            ResourceId = Clean(r.ResourceId),
            ResourceSensitivity = Clean(r.ResourceSensitivity),
            ContextJson = Json(r.ContextJson),
            CredentialId = Clean(r.CredentialId),
            CredentialKind = Clean(r.CredentialKind),
            CredentialIssuedAt = r.CredentialIssuedAt is { } ia ? Micros(ia) : null,
            CredentialExpiresAt = r.CredentialExpiresAt is { } ea ? Micros(ea) : null,
            SessionId = Clean(r.SessionId),
            ParentDecisionId = Clean(r.ParentDecisionId),
            OnBehalfOfSubject = Clean(r.OnBehalfOfSubject),
            Decision = Clean(r.Decision)!,
            Reasons = (r.Reasons ?? []).Select(x => new ReasonRecord(Clean(x.Code) ?? "", Clean(x.Message) ?? "", Clean(x.Rule))).ToArray(),
            ExceptionPath = Clean(r.ExceptionPath),
            ObligationsJson = Json(r.ObligationsJson),
            PolicyRevision = Clean(r.PolicyRevision) ?? "",
            InputHash = Clean(r.InputHash) ?? "",
            MaskedInputJson = Json(r.MaskedInputJson),
            Labels = (r.Labels ?? []).Select(l => Clean(l) ?? "").ToArray(),
        };
    }

    /// <summary>
    /// Hash of a normalized record (see <see cref="Normalize"/>) at position <paramref name="seq"/> of
    /// <paramref name="writerId"/>'s chain after <paramref name="prevHash"/> (64 lowercase hex chars).
    /// Returns 64 lowercase hex chars. Throws <see cref="FormatException"/> when prevHash is not hex.
    /// </summary>
    public static string ComputeHash(string prevHash, string writerId, long seq, DecisionRecord r)
    {
        var buf = new ByteWriter();
        Span<byte> prev = stackalloc byte[32];
        if (prevHash.Length == 64 && Convert.FromHexString(prevHash, prev, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32)
            buf.Raw(prev);
        else
            buf.Raw(Convert.FromHexString(prevHash)); // not 32 bytes of hex: hashed as given, or FormatException as before
        buf.Str(writerId);
        buf.I64(seq);
        buf.Str(r.DecisionId);
        buf.Time(r.DecidedAt);
        buf.Str(r.RequestId);
        buf.Str(r.SpiffeId);
        buf.Str(r.Issuer);
        buf.Str(r.Subject);
        buf.Str(r.WorkloadAttributesJson);
        buf.Str(r.Server);
        buf.Str(r.Tool);
        buf.Str(r.AnnotationsJson);
        buf.Str(r.ResourceType);
        buf.Str(r.ResourceId);
        buf.Str(r.ResourceSensitivity);
        buf.Str(r.ContextJson);
        buf.Str(r.CredentialId);
        buf.Str(r.CredentialKind);
        buf.Time(r.CredentialIssuedAt);
        buf.Time(r.CredentialExpiresAt);
        buf.Str(r.SessionId);
        buf.Str(r.ParentDecisionId);
        buf.Str(r.OnBehalfOfSubject);
        buf.Str(r.Decision);
        buf.I64(r.Reasons.Count);
        foreach (var reason in r.Reasons)
        {
            buf.Str(reason.Code);
            buf.Str(reason.Message);
            buf.Str(reason.Rule);
        }
        buf.Str(r.ExceptionPath);
        buf.Str(r.ObligationsJson);
        buf.Str(r.PolicyRevision);
        buf.Str(r.InputHash);
        buf.Str(r.MaskedInputJson);
        buf.I64(r.EvalMicros);
        buf.I64(r.Labels.Count);
        foreach (var label in r.Labels) buf.Str(label);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buf.ToSpan(), digest);
        buf.Return();
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>
    /// Names the first field where two normalized records differ (for verify-log messages), or null when equal.
    /// </summary>
    public static string? FirstDifference(DecisionRecord a, DecisionRecord b)
    {
        foreach (var p in typeof(DecisionRecord).GetProperties())
        {
            var x = p.GetValue(a);
            var y = p.GetValue(b);
            if (x is System.Collections.IEnumerable ex && y is System.Collections.IEnumerable ey && x is not string)
            {
                if (!ex.Cast<object?>().SequenceEqual(ey.Cast<object?>())) return p.Name;
            }
            else if (!Equals(x, y)) return p.Name;
        }
        return null;
    }

    private static DateTimeOffset Micros(DateTimeOffset t)
    {
        var utc = t.UtcDateTime;
        return new DateTimeOffset(utc.Ticks - utc.Ticks % 10, TimeSpan.Zero);
    }

    private static string? Clean(string? s)
    {
        if (s is null) return null;
        // Vectorized scans: this runs for every string of every record.
        if (!s.Contains('\0') && s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\0') sb.Append('\uFFFD');
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) sb.Append(c).Append(s[++i]);
            else if (char.IsSurrogate(c)) sb.Append('\uFFFD');
            else sb.Append(c);
        }
        return sb.ToString();
    }

    // A pooled buffer: the encoding of one record is a few KB, written once per decision on the writer's path.
    private struct ByteWriter
    {
        private byte[] _buf;
        private int _len;

        public ByteWriter()
        {
            _buf = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
            _len = 0;
        }

        /// <summary>Gives the buffer back to the pool; the writer must not be used afterwards.</summary>
        public void Return()
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_buf);
            _buf = [];
        }

        public ReadOnlySpan<byte> ToSpan() => _buf.AsSpan(0, _len);

        private Span<byte> Take(int n)
        {
            if (_len + n > _buf.Length)
            {
                var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, _len + n));
                _buf.AsSpan(0, _len).CopyTo(bigger);
                System.Buffers.ArrayPool<byte>.Shared.Return(_buf);
                _buf = bigger;
            }
            var span = _buf.AsSpan(_len, n);
            _len += n;
            return span;
        }

        public void Raw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

        public void I64(long v) => BinaryPrimitives.WriteInt64BigEndian(Take(8), v);

        public void Time(DateTimeOffset? t)
        {
            if (t is null) { Take(1)[0] = 0; return; }
            Take(1)[0] = 1;
            I64((t.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        }

        public void Str(string? s)
        {
            if (s is null) { Take(1)[0] = 0; return; }
            Take(1)[0] = 1;
            var n = Encoding.UTF8.GetByteCount(s);
            BinaryPrimitives.WriteInt32BigEndian(Take(4), n);
            Encoding.UTF8.GetBytes(s, Take(n));
        }
    }
}
