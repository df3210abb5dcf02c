using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Pdp.DecisionLog;
using Pdp.Policy;
using PolicyPoint.V1;
using DecisionRecord = Pdp.DecisionLog.DecisionRecord;

namespace Pdp.Service;

/// <summary>
/// The Check path without the gRPC plumbing: validate, deduplicate by <c>request_id</c>, build the input, evaluate,
/// record durably, answer. Fails closed everywhere: anything but a well-formed allowing decision is DENY, and no
/// decision leaves without its record (else DENY <c>audit_unavailable</c>, with no decision id since nothing was
/// recorded under one). Thread safe; one instance per PDP.
/// </summary>
public sealed class CheckProcessor
{
    private readonly IPolicyEngine _engine;
    private readonly IDecisionLog _log;
    private readonly SessionHistoryCache _sessions;
    private readonly CheckLimits _limits;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    // request_id → the first Check's answer: in flight or recently completed (bounded, FIFO eviction).
    private readonly ConcurrentDictionary<string, Task<CheckResponse>> _byRequestId = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requestIdOrder = new();
    private readonly int _maxRememberedRequests;

    /// <param name="engine">Policy engine.</param>
    /// <param name="log">Durable decision log.</param>
    /// <param name="sessions">Session history cache over <paramref name="log"/>.</param>
    /// <param name="limits">Request limits.</param>
    /// <param name="logger">Operational log (never the decision log).</param>
    /// <param name="clock">Time source; null = system clock.</param>
    /// <param name="maxRememberedRequests">request_ids kept in memory after completion (default 100 000).</param>
    public CheckProcessor(IPolicyEngine engine, IDecisionLog log, SessionHistoryCache sessions, CheckLimits limits,
        ILogger<CheckProcessor> logger, TimeProvider? clock = null, int maxRememberedRequests = 100_000)
    {
        _engine = engine;
        _log = log;
        _sessions = sessions;
        _limits = limits;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _maxRememberedRequests = Math.Max(16, maxRememberedRequests);
    }

    /// <summary>
    /// Decides one request. Throws <see cref="RpcException"/> INVALID_ARGUMENT (after logging an <c>invalid</c>
    /// record) for bad input; every other problem becomes a DENY response.
    /// </summary>
    public async Task<CheckResponse> CheckAsync(CheckRequest request, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        if (RequestValidator.Validate(request, _limits) is { } invalid)
        {
            await LogInvalidAsync(request, invalid, now).ConfigureAwait(false);
            throw new RpcException(new Status(StatusCode.InvalidArgument, invalid.Message));
        }
        if (request.RequestId.Length == 0) return await DecideAsync(request, now, cancellationToken).ConfigureAwait(false);

        var mine = new TaskCompletionSource<CheckResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            var existing = _byRequestId.GetOrAdd(request.RequestId, mine.Task);
            if (existing == mine.Task) break;
            try
            {
                return (await existing.WaitAsync(cancellationToken).ConfigureAwait(false)).Clone();
            }
            catch (Exception) when (existing.IsFaulted || existing.IsCanceled)
            {
                // The first attempt produced no answer; the next caller decides afresh.
                _byRequestId.TryRemove(KeyValuePair.Create(request.RequestId, existing));
            }
        }
        try
        {
            CheckResponse response;
            var earlier = await FindEarlierAsync(request.RequestId, cancellationToken).ConfigureAwait(false);
            response = earlier is not null ? ToResponse(earlier) : await DecideAsync(request, now, cancellationToken).ConfigureAwait(false);
            if (response.DecisionId.Length == 0)
            {
                // audit_unavailable: nothing recorded, so a retry must decide again rather than replay this.
                _byRequestId.TryRemove(KeyValuePair.Create(request.RequestId, mine.Task));
            }
            else
            {
                _requestIdOrder.Enqueue(request.RequestId);
                while (_requestIdOrder.Count > _maxRememberedRequests && _requestIdOrder.TryDequeue(out var old))
                    _byRequestId.TryRemove(old, out _);
            }
            mine.SetResult(response);
            return response.Clone();
        }
        catch (Exception e)
        {
            _byRequestId.TryRemove(KeyValuePair.Create(request.RequestId, mine.Task));
            mine.TrySetException(e);
            throw;
        }
    }

    private async Task<DecisionRecord?> FindEarlierAsync(string requestId, CancellationToken cancellationToken)
    {
        try
        {
            var found = await _log.FindByRequestIdAsync(requestId, cancellationToken).ConfigureAwait(false);
            return found is { Decision: not "invalid" } ? found : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not knowing whether it was decided before: decide now; at worst a retry is decided twice, never lost.
            _logger.LogWarning("request_id lookup failed, deciding afresh: {Error}", e.Message);
            return null;
        }
    }

    private async Task<CheckResponse> DecideAsync(CheckRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var decisionId = Guid.CreateVersion7(now).ToString();
        // Deciding happens in a method of its own so that the input document, its history and the evaluation, which
        // the record no longer needs, are garbage while the answer waits for the record to be durable; kept in this
        // method's state they would be live at every collection during that wait, and copied by it.
        var (record, obligations) = await DecideRecordAsync(request, decisionId, now, cancellationToken).ConfigureAwait(false);
        var appending = System.Diagnostics.Stopwatch.GetTimestamp();
        PdpMetrics.DecideDuration.Record(PdpMetrics.SecondsSince(started));
        try
        {
            // Not cancellable: once decided, the record is written even if the caller went away.
            await _log.AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
            PdpMetrics.AppendDuration.Record(PdpMetrics.SecondsSince(appending));
            PdpMetrics.Decisions.Add(1, new KeyValuePair<string, object?>("decision", record.Decision));
        }
        catch (Exception e)
        {
            PdpMetrics.Decisions.Add(1, new KeyValuePair<string, object?>("decision", "audit_unavailable"));
            _logger.LogError("Decision {DecisionId} could not be recorded, answering DENY audit_unavailable: {Error}", decisionId, e.Message);
            return new CheckResponse
            {
                Decision = Decision.Deny,
                PolicyRevision = record.PolicyRevision,
                Reasons = { new Reason { Code = "audit_unavailable", Message = "the decision could not be recorded durably" } },
            };
        }
        if (request.Session?.SessionId is { Length: > 0 } sessionId) _sessions.Add(sessionId, SessionEvent.From(record));
        return ToResponse(record, obligations);
    }

    // The decision and its record: session history, input, evaluation, obligations (parsed once for the response).
    private async ValueTask<(DecisionRecord Record, Google.Protobuf.WellKnownTypes.Struct? Obligations)> DecideRecordAsync(
        CheckRequest request, string decisionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sessionId = request.Session?.SessionId ?? "";
        IReadOnlyList<SessionEvent> history = [];
        DecisionOutcome? outcome = null;
        PolicyEvaluation? evaluation = null;
        string? obligationsJson = null;
        var obligationsCanonical = true;
        Google.Protobuf.WellKnownTypes.Struct? obligations = null;
        if (sessionId.Length > 0)
        {
            try
            {
                history = await _sessions.GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A policy may depend on what happened earlier in the session; without it, fail closed.
                _logger.LogWarning("Session history of {SessionId} unavailable: {Error}", sessionId, e.Message);
                outcome = DecisionMapper.Deny("session_history_unavailable", "the session's earlier decisions could not be read");
            }
        }
        var input = InputBuilder.BuildInput(request, history, now);
        if (outcome is null)
        {
            evaluation = await _engine.EvaluateAsync(input, now, cancellationToken).ConfigureAwait(false);
            outcome = DecisionMapper.Map(evaluation);
            if (evaluation.Error is not null)
                _logger.LogWarning("Policy error for decision {DecisionId}: {Error}", decisionId, evaluation.Error);
            if (outcome.Obligations is not null)
            {
                // Written and parsed once: the text goes into the record, the Struct into the response.
                try
                {
                    obligationsJson = RecordJson(outcome.Obligations, null, ref obligationsCanonical);
                    obligations = JsonUtil.ToStruct(obligationsJson);
                }
                catch (Exception e)
                {
                    // Obligations the PEP cannot receive cannot be honoured: refuse rather than drop them.
                    outcome = DecisionMapper.Deny("policy_error", $"decision.obligations cannot be sent: {e.Message}");
                    obligationsJson = null;
                    obligations = null;
                }
            }
        }
        var record = BuildRecord(request, decisionId, now, input, outcome, obligationsJson, obligationsCanonical, evaluation?.Revision ?? _engine.Revision, evaluation?.EvalMicros ?? 0);
        return (record, obligations);
    }

    /// <summary>Logs a refusal (decision <c>invalid</c>) of a request that never reached validation, e.g. unparseable bytes.</summary>
    public Task RefuseAsync(CheckRequest request, ValidationError error) => LogInvalidAsync(request, error, _clock.GetUtcNow());

    private async Task LogInvalidAsync(CheckRequest request, ValidationError error, DateTimeOffset now)
    {
        DecisionRecord record;
        try
        {
            record = InvalidRecord(request, error, now);
        }
        catch (Exception e)
        {
            _logger.LogError("Could not describe an invalid request: {Error}", e.Message);
            record = new DecisionRecord
            {
                DecisionId = Guid.CreateVersion7(now).ToString(), DecidedAt = now, Decision = "invalid",
                Reasons = [new ReasonRecord("invalid_argument", Cap(error.Message))], PolicyRevision = _engine.Revision,
            };
        }
        try
        {
            await _log.AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
            PdpMetrics.Decisions.Add(1, new KeyValuePair<string, object?>("decision", "invalid"));
        }
        catch (Exception e)
        {
            _logger.LogError("Refusal of an invalid request could not be recorded: {Error}", e.Message);
        }
    }

    // What is safe to keep of a refused request: identifiers capped in length, no payloads.
    private DecisionRecord InvalidRecord(CheckRequest request, ValidationError error, DateTimeOffset now) => new()
    {
        DecisionId = Guid.CreateVersion7(now).ToString(),
        DecidedAt = now,
        RequestId = Opt(request.RequestId),
        SpiffeId = Opt(request.Workload?.SpiffeId),
        Issuer = Opt(request.Workload?.Issuer),
        Subject = Opt(request.Workload?.Subject),
        Server = Opt(request.Tool?.Server),
        Tool = Cap(request.Tool?.Name ?? ""),
        ResourceType = Opt(request.Resource?.Type),
        ResourceId = Opt(request.Resource?.Id),
        ResourceSensitivity = Opt(request.Resource?.Sensitivity),
        CredentialId = Opt(request.Credential?.Id),
        CredentialKind = request.Credential is null ? null : InputBuilder.KindName(request.Credential.Kind),
        SessionId = Opt(request.Session?.SessionId),
        ParentDecisionId = Guid.TryParseExact(request.Session?.ParentDecisionId ?? "", "D", out var p) ? p.ToString() : null,
        OnBehalfOfSubject = Opt(request.OnBehalfOf?.Subject),
        Decision = "invalid",
        Reasons = [new ReasonRecord("invalid_argument", Cap(error.Message), error.Field)],
        PolicyRevision = _engine.Revision,
    };

    private static string Cap(string s) => s.Length <= 256 ? s : s[..256];

    private static string? Opt(string? s) => string.IsNullOrEmpty(s) ? null : Cap(s);

    private static DecisionRecord BuildRecord(CheckRequest request, string decisionId, DateTimeOffset now, PolicyInput input,
        DecisionOutcome outcome, string? obligationsJson, bool obligationsCanonical, string revision, long evalMicros)
    {
        var w = request.Workload;
        var c = request.Credential;
        var canonical = obligationsCanonical;
        return new DecisionRecord
        {
            DecisionId = decisionId,
            DecidedAt = now,
            RequestId = Opt(request.RequestId),
            SpiffeId = Opt(w?.SpiffeId),
            Issuer = Opt(w?.Issuer),
            Subject = Opt(w?.Subject),
            // The input already holds these maps as nodes (built from the same request): written, not rebuilt.
            WorkloadAttributesJson = w is { Attributes.Count: > 0 } ? RecordJson(input.Base["workload"]!["attributes"], null, ref canonical) : null,
            Server = Opt(request.Tool.Server),
            Tool = request.Tool.Name,
            AnnotationsJson = request.Tool.Annotations.Count > 0 ? RecordJson(input.Base["tool"]!["annotations"], null, ref canonical) : null,
            ResourceType = Opt(request.Resource?.Type),
            ResourceId = Opt(request.Resource?.Id),
            ResourceSensitivity = Opt(request.Resource?.Sensitivity),
            ContextJson = request.Context is { Fields.Count: > 0 } ? RecordJson(input.Base["context"], null, ref canonical) : null,
            CredentialId = Opt(c?.Id),
            CredentialKind = c is null ? null : InputBuilder.KindName(c.Kind),
            CredentialIssuedAt = c?.IssuedAt?.ToDateTimeOffset(),
            CredentialExpiresAt = c?.ExpiresAt?.ToDateTimeOffset(),
            SessionId = Opt(request.Session?.SessionId),
            ParentDecisionId = Opt(request.Session?.ParentDecisionId),
            OnBehalfOfSubject = Opt(request.OnBehalfOf?.Subject),
            Decision = outcome.Decision,
            Reasons = outcome.Reasons,
            ExceptionPath = outcome.ExceptionPath,
            ObligationsJson = obligationsJson,
            PolicyRevision = revision,
            InputHash = input.Hash,
            MaskedInputJson = MaskedInputJson(input, ref canonical),
            EvalMicros = evalMicros,
            Labels = outcome.Labels,
            JsonCanonical = canonical,
        };
    }

    /// <summary>
    /// The input as logged: argument values masked (keys kept), and the session history replaced by its length since
    /// those decisions are rows of their own (the full input is identified by the record's input hash).
    /// </summary>
    private static string MaskedInputJson(PolicyInput input, ref bool canonical)
    {
        var doc = input.Base;
        var subs = new Dictionary<(JsonObject, string), string?>();
        if (doc["tool"] is JsonObject tool) subs[(tool, "arguments")] = RecordJson(JsonUtil.Mask(tool["arguments"]), null, ref canonical);
        if (doc["session"] is JsonObject session)
        {
            subs[(session, "history")] = null;
            subs[(session, "history_count")] = input.HistoryCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return RecordJson(doc, subs, ref canonical);
    }

    // A record's JSON field, written in the decision log's canonical form directly so the log need not parse it again;
    // when that form cannot be written (see CanonicalJson.TryWrite), the plain canonical text, and canonical = false.
    private static string RecordJson(JsonNode? node, IReadOnlyDictionary<(JsonObject, string), string?>? subs, ref bool canonical)
    {
        if (CanonicalJson.TryWrite(node, subs, out var text)) return text;
        canonical = false;
        return JsonUtil.Canonical(node, subs);
    }

    /// <summary>The answer a record stands for (also used to replay an earlier decision for a repeated request_id).</summary>
    public static CheckResponse ToResponse(DecisionRecord record) => ToResponse(record, null);

    // parsedObligations: the record's obligations already parsed (and owned by this response), else null to parse them.
    private static CheckResponse ToResponse(DecisionRecord record, Google.Protobuf.WellKnownTypes.Struct? parsedObligations)
    {
        var response = new CheckResponse
        {
            DecisionId = record.DecisionId,
            Decision = record.Decision switch
            {
                "allow" => Decision.Allow,
                "require_approval" => Decision.RequireApproval,
                _ => Decision.Deny,
            },
            ExceptionPath = record.ExceptionPath ?? "",
            PolicyRevision = record.PolicyRevision,
        };
        foreach (var r in record.Reasons)
            response.Reasons.Add(new Reason { Code = r.Code, Message = r.Message, Rule = r.Rule ?? "" });
        if (parsedObligations is not null) response.Obligations = parsedObligations;
        else if (record.ObligationsJson is { Length: > 0 } json)
        {
            try { response.Obligations = JsonUtil.ToStruct(json); }
            catch (Exception)
            {
                // Obligations that cannot be sent cannot be honoured: never replay such an answer as an allow.
                response.Decision = Decision.Deny;
                response.Reasons.Add(new Reason { Code = "policy_error", Message = "recorded obligations are unreadable" });
            }
        }
        return response;
    }
}
