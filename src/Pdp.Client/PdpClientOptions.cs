namespace Pdp.Client;

/// <summary>
/// Settings of <see cref="PdpClient"/>: where the PDP listens and how hard to try before failing closed.
/// All durations are wall-clock <see cref="TimeSpan"/>s.
/// </summary>
public sealed class PdpClientOptions
{
    /// <summary>The PDP's gRPC address, e.g. <c>http://127.0.0.1:50051</c> (h2c) or <c>https://pdp.example.org</c>. Required.</summary>
    public Uri? Address { get; set; }

    /// <summary>gRPC deadline of one attempt. Default 2 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound on one call including all retries; after it the answer is DENY <c>pdp_unavailable</c>. Default 5 s.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, only when the PDP answers <c>UNAVAILABLE</c>. Default 2; 0 disables retries.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Base delay of the exponential, jittered back-off between retries. Default 50 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Failure ratio (0..1] over <see cref="BreakerSamplingDuration"/> that opens the circuit. Default 0.5.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Calls needed in the sampling window before the breaker may open. Default 10.</summary>
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Window over which failures are counted. Default 30 s.</summary>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit denies without calling the PDP. Default 5 s.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Address is null) throw new ArgumentException("PdpClientOptions.Address is required (e.g. http://127.0.0.1:50051).", nameof(Address));
        if (!Address.IsAbsoluteUri || (Address.Scheme != Uri.UriSchemeHttp && Address.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"PdpClientOptions.Address must be an absolute http:// or https:// URI, got '{Address}'.", nameof(Address));
        if (AttemptTimeout <= TimeSpan.Zero) throw new ArgumentException("AttemptTimeout must be positive.", nameof(AttemptTimeout));
        if (TotalTimeout <= TimeSpan.Zero) throw new ArgumentException("TotalTimeout must be positive.", nameof(TotalTimeout));
        if (MaxRetries < 0) throw new ArgumentException("MaxRetries must be >= 0.", nameof(MaxRetries));
        if (RetryBaseDelay < TimeSpan.Zero) throw new ArgumentException("RetryBaseDelay must be >= 0.", nameof(RetryBaseDelay));
        if (BreakerFailureRatio is <= 0 or > 1) throw new ArgumentException("BreakerFailureRatio must be in (0, 1].", nameof(BreakerFailureRatio));
        if (BreakerMinimumThroughput < 2) throw new ArgumentException("BreakerMinimumThroughput must be >= 2.", nameof(BreakerMinimumThroughput));
        if (BreakerSamplingDuration < TimeSpan.FromMilliseconds(500)) throw new ArgumentException("BreakerSamplingDuration must be >= 500 ms.", nameof(BreakerSamplingDuration));
        if (BreakerBreakDuration < TimeSpan.FromMilliseconds(500)) throw new ArgumentException("BreakerBreakDuration must be >= 500 ms.", nameof(BreakerBreakDuration));
    }
}
