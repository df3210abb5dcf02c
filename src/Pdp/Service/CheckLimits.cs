namespace Pdp.Service;

/// <summary>
/// Limits a <c>CheckRequest</c> must respect; a request over any of them is refused with INVALID_ARGUMENT naming the
/// field, and the refusal is logged as a decision record with decision <c>invalid</c>.
/// </summary>
public sealed class CheckLimits
{
    /// <summary>Largest accepted serialized request, in bytes (default 1 MiB). The gRPC transport itself accepts up to
    /// 4× this (at least 4 MiB) so that oversize requests still reach validation and are logged; beyond that the
    /// transport answers RESOURCE_EXHAUSTED without a record.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Deepest nesting of objects/arrays in <c>tool.arguments</c> and <c>context</c> (default 32; the top-level
    /// object is depth 1).</summary>
    public int MaxNestingDepth { get; set; } = 32;

    /// <summary>Longest string anywhere in the request, keys included, in UTF-16 code units (default 16384).</summary>
    public int MaxStringLength { get; set; } = 16 * 1024;

    /// <summary>Longest <c>session.session_id</c> and <c>request_id</c> (default 256).</summary>
    public int MaxIdLength { get; set; } = 256;

    /// <summary>The gRPC transport's receive limit derived from <see cref="MaxMessageBytes"/>.</summary>
    public int TransportMaxReceiveBytes => (int)Math.Min(int.MaxValue, Math.Max(4L * 1024 * 1024, 4L * MaxMessageBytes));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first limit that is not positive.</summary>
    public void Validate()
    {
        if (MaxMessageBytes < 1024) throw new ArgumentException("Limits.MaxMessageBytes must be at least 1024");
        if (MaxNestingDepth < 1) throw new ArgumentException("Limits.MaxNestingDepth must be at least 1");
        if (MaxStringLength < 64) throw new ArgumentException("Limits.MaxStringLength must be at least 64");
        if (MaxIdLength < 16) throw new ArgumentException("Limits.MaxIdLength must be at least 16");
    }
}
