using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pdp.Policy;

/// <summary>
/// Asks an OPA server through its Data API: <c>POST {baseUrl}/v1/data/{entrypoint path}?provenance</c> with body
/// <c>{"input": ...}</c>; a response without <c>result</c> means undefined. The revision is taken from the response's
/// <c>provenance.bundles.*.revision</c> (several bundles joined by <c>,</c>), else <c>opa</c>. Readiness follows
/// OPA's <c>GET /health?bundles</c>, refreshed by <see cref="RefreshHealthAsync"/>.
/// </summary>
public sealed class OpaPolicyEngine : IPolicyEngine
{
    private readonly HttpClient _http;
    private readonly string _dataPath;
    private volatile bool _ready;
    private volatile string _revision = "";

    /// <param name="http">Client whose <see cref="HttpClient.BaseAddress"/> is the OPA server (e.g. http://127.0.0.1:8181/).</param>
    /// <param name="entrypoint">Decision path such as <c>data.policypoint.mcp.decision</c>.</param>
    public OpaPolicyEngine(HttpClient http, string entrypoint = EntrypointPath.Default)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        if (_http.BaseAddress is null) throw new ArgumentException("the OPA HttpClient needs a BaseAddress", nameof(http));
        _dataPath = "v1/data/" + string.Join('/', EntrypointPath.Parse(entrypoint)) + "?provenance";
    }

    /// <inheritdoc />
    public bool IsReady => _ready;

    /// <inheritdoc />
    public string Revision => _revision;

    /// <summary>Asks OPA whether its bundles are active; updates <see cref="IsReady"/>. Never throws.</summary>
    public async Task<bool> RefreshHealthAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync("health?bundles", cancellationToken).ConfigureAwait(false);
            _ready = response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            _ready = false;
        }
        return _ready;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyEvaluation> EvaluateAsync(PolicyInput input, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        long Micros() => (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        try
        {
            var body = "{\"input\":" + input.Json + "}";
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(_dataPath, content, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var detail = TryParse(text) is JsonObject err ? $"{err["code"]}: {err["message"]}" : text;
                return PolicyEvaluation.Failed(_revision, $"opa_error: HTTP {(int)response.StatusCode}: {Truncate(detail)}", Micros());
            }
            if (TryParse(text) is not JsonObject doc) return PolicyEvaluation.Failed(_revision, "opa_error: response is not a JSON object", Micros());
            var revision = RevisionOf(doc);
            if (revision != _revision) _revision = revision;
            _ready = true;
            if (!doc.ContainsKey("result")) return new PolicyEvaluation(null, false, revision, null, Micros());
            return new PolicyEvaluation(doc["result"]?.DeepClone(), true, revision, null, Micros());
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return PolicyEvaluation.Failed(_revision, $"opa_unavailable: {e.Message}", Micros());
        }
    }

    private static string RevisionOf(JsonObject doc)
    {
        if (doc["provenance"]?["bundles"] is JsonObject bundles && bundles.Count > 0)
        {
            var revisions = bundles.OrderBy(b => b.Key, StringComparer.Ordinal)
                .Select(b => Str(b.Value?["revision"]))
                .Where(r => r.Length > 0).ToList();
            if (revisions.Count > 0) return string.Join(",", revisions);
        }
        return Str(doc["provenance"]?["revision"]) is { Length: > 0 } r ? r : "opa";
    }

    private static string Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    private static JsonNode? TryParse(string text)
    {
        try { return JsonNode.Parse(text); } catch (JsonException) { return null; }
    }

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
