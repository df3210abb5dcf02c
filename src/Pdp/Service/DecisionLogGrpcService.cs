using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using PolicyPoint.V1;

namespace Pdp.Service;

/// <summary>
/// gRPC <c>policypoint.v1.DecisionLogService</c>: reads recorded decisions back from PostgreSQL (tables
/// <c>decisions</c> and <c>outcomes</c>) and appends outcomes reported by PEPs. Errors: INVALID_ARGUMENT for bad
/// ids, sizes or tokens; NOT_FOUND for unknown decisions; UNAVAILABLE when PostgreSQL cannot be reached or no
/// database is configured.
/// </summary>
public sealed class DecisionLogGrpcService : PolicyPoint.V1.DecisionLogService.DecisionLogServiceBase
{
    private const int MaxChain = 10_000;
    private const string Columns = """
        decision_id, decided_at, request_id, spiffe_id, issuer, subject, workload_attributes::text AS workload_attributes,
        server, tool, annotations::text AS annotations, resource_type, resource_id, resource_sensitivity,
        credential_kind, session_id, parent_decision_id, decision, reasons::text AS reasons, exception_path,
        obligations::text AS obligations, policy_revision, eval_micros
        """;

    private readonly NpgsqlDataSource? _db;
    private readonly Pdp.DecisionLog.IDecisionLog? _log;
    private readonly ILogger<DecisionLogGrpcService> _logger;

    /// <summary>Resolves the optional <see cref="NpgsqlDataSource"/> (absent when the PDP runs without a database).</summary>
    public DecisionLogGrpcService(IServiceProvider services, ILogger<DecisionLogGrpcService> logger)
    {
        _db = services.GetService<NpgsqlDataSource>();
        _log = services.GetService<Pdp.DecisionLog.IDecisionLog>();
        _logger = logger;
    }

    private sealed class Row
    {
        public string decision_id { get; set; } = "";
        public DateTime decided_at { get; set; }
        public string? request_id { get; set; }
        public string? spiffe_id { get; set; }
        public string? issuer { get; set; }
        public string? subject { get; set; }
        public string? workload_attributes { get; set; }
        public string? server { get; set; }
        public string tool { get; set; } = "";
        public string? annotations { get; set; }
        public string? resource_type { get; set; }
        public string? resource_id { get; set; }
        public string? resource_sensitivity { get; set; }
        public string? credential_kind { get; set; }
        public string? session_id { get; set; }
        public string? parent_decision_id { get; set; }
        public string decision { get; set; } = "";
        public string? reasons { get; set; }
        public string? exception_path { get; set; }
        public string? obligations { get; set; }
        public string policy_revision { get; set; } = "";
        public long eval_micros { get; set; }
    }

    private sealed class OutcomeRow
    {
        public string decision_id { get; set; } = "";
        public string status { get; set; } = "";
        public string? detail { get; set; }
        public DateTime reported_at { get; set; }
    }

    /// <summary>One decision with its outcomes; a decision acknowledged but not yet in PostgreSQL is waited for up to 5 s (then UNAVAILABLE); NOT_FOUND when unknown.</summary>
    public override Task<DecisionRecord> GetDecision(GetDecisionRequest request, ServerCallContext context) =>
        Guard(async ct =>
        {
            var id = RequireUuid(request.DecisionId, "decision_id");
            await using var conn = await Open(ct);
            Task<Row?> Read() => conn.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM decisions WHERE decision_id = @id ORDER BY logged_at LIMIT 1", new { id }, cancellationToken: ct));
            var row = await Read();
            if (row is null && await WaitWhilePendingAsync(id, ct)) row = await Read() ?? throw NotYetStored(id);
            if (row is null) throw new RpcException(new Status(StatusCode.NotFound, $"decision {id} not found"));
            return (await WithOutcomes(conn, [row], ct))[0];
        }, context);

    /// <summary>
    /// Decisions matching every filter given, newest first, <c>page_size</c> (1..1000, default 100) per page;
    /// <c>next_page_token</c> is empty on the last page.
    /// </summary>
    public override Task<ListDecisionsResponse> ListDecisions(ListDecisionsRequest request, ServerCallContext context) =>
        Guard(async ct =>
        {
            var size = request.PageSize == 0 ? 100 : request.PageSize;
            if (size is < 1 or > 1000) throw Invalid($"page_size must be in 1..1000, got {request.PageSize}");
            if (!System.Enum.IsDefined(request.Decision)) throw Invalid($"decision has unknown enum value {(int)request.Decision}");
            var where = new List<string>();
            var args = new DynamicParameters();
            void Eq(string column, string value, string field)
            {
                if (value.Length == 0) return;
                if (value.Length > 2048) throw Invalid($"{field} is longer than 2048 characters");
                where.Add($"{column} = @{column}");
                args.Add(column, value);
            }
            Eq("session_id", request.SessionId, "session_id");
            Eq("spiffe_id", request.SpiffeId, "spiffe_id");
            Eq("server", request.Server, "server");
            Eq("tool", request.Tool, "tool");
            if (request.Decision != Decision.Unspecified)
            {
                where.Add("decision = @decision");
                args.Add("decision", request.Decision switch
                {
                    Decision.Allow => "allow", Decision.Deny => "deny", _ => "require_approval",
                });
            }
            if (request.From is not null) { where.Add("decided_at >= @from"); args.Add("from", TimeArg(request.From, "from")); }
            if (request.To is not null) { where.Add("decided_at < @to"); args.Add("to", TimeArg(request.To, "to")); }
            if (request.PageToken.Length > 0)
            {
                var (at, id) = DecodeToken(request.PageToken);
                where.Add("(decided_at, decision_id) < (@tokenAt, @tokenId)");
                args.Add("tokenAt", at);
                args.Add("tokenId", id);
            }
            args.Add("limit", size + 1);
            var sql = $"SELECT {Columns} FROM decisions {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} " +
                      "ORDER BY decided_at DESC, decision_id DESC LIMIT @limit";
            await using var conn = await Open(ct);
            var rows = (await conn.QueryAsync<Row>(new CommandDefinition(sql, args, cancellationToken: ct))).ToList();
            var response = new ListDecisionsResponse();
            if (rows.Count > size)
            {
                rows.RemoveAt(rows.Count - 1);
                response.NextPageToken = EncodeToken(rows[^1].decided_at, rows[^1].decision_id);
            }
            response.Decisions.AddRange(await WithOutcomes(conn, rows, ct));
            return response;
        }, context);

    /// <summary>
    /// The chain of calls: by session id, every decision of the session in order; by decision id, the session holding
    /// it, or (for a decision outside any session) its ancestors through <c>parent_decision_id</c> and itself.
    /// </summary>
    public override Task<GetChainResponse> GetChain(GetChainRequest request, ServerCallContext context) =>
        Guard(async ct =>
        {
            await using var conn = await Open(ct);
            List<Row> rows;
            switch (request.ByCase)
            {
                case GetChainRequest.ByOneofCase.SessionId when request.SessionId.Length > 0:
                    rows = await SessionRows(conn, request.SessionId, ct);
                    break;
                case GetChainRequest.ByOneofCase.DecisionId:
                    var id = RequireUuid(request.DecisionId, "decision_id");
                    var start = await conn.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(
                        $"SELECT {Columns} FROM decisions WHERE decision_id = @id LIMIT 1", new { id }, cancellationToken: ct))
                        ?? throw new RpcException(new Status(StatusCode.NotFound, $"decision {id} not found"));
                    if (start.session_id is { Length: > 0 } sid) { rows = await SessionRows(conn, sid, ct); break; }
                    rows = [start];
                    var seen = new HashSet<string> { start.decision_id };
                    // Walk up the parent links (bounded: a cycle or a very long chain stops the walk).
                    while (rows[0].parent_decision_id is { Length: > 0 } parent && seen.Add(parent) && rows.Count < 1000)
                    {
                        var p = await conn.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(
                            $"SELECT {Columns} FROM decisions WHERE decision_id = @parent LIMIT 1", new { parent }, cancellationToken: ct));
                        if (p is null) break;
                        rows.Insert(0, p);
                    }
                    break;
                default:
                    throw Invalid("session_id or decision_id is required");
            }
            var response = new GetChainResponse();
            response.Decisions.AddRange(await WithOutcomes(conn, rows, ct));
            return response;
        }, context);

    /// <summary>
    /// Appends an outcome (status: 1..64 of [a-z0-9_.-]; detail ≤ 4096 chars) for a known decision. A decision
    /// acknowledged but not yet in PostgreSQL (journal mode, or a spooled record) is waited for up to 5 s, then
    /// UNAVAILABLE; an unknown one is NOT_FOUND.
    /// </summary>
    public override Task<ReportOutcomeResponse> ReportOutcome(ReportOutcomeRequest request, ServerCallContext context) =>
        Guard(async ct =>
        {
            var id = RequireUuid(request.DecisionId, "decision_id");
            if (request.Status.Length is 0 or > 64 || !request.Status.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.' or '-'))
                throw Invalid("status is required: 1..64 characters of a-z, 0-9, _ . - (e.g. executed, failed)");
            if (request.Detail.Length > 4096) throw Invalid("detail is longer than 4096 characters");
            await using var conn = await Open(ct);
            var exists = await DecisionStoredAsync(conn, id, ct);
            if (!exists && await WaitWhilePendingAsync(id, ct))
                exists = await DecisionStoredAsync(conn, id, ct) ? true : throw NotYetStored(id);
            if (!exists) throw new RpcException(new Status(StatusCode.NotFound, $"decision {id} not found"));
            await conn.ExecuteAsync(new CommandDefinition(
                "INSERT INTO outcomes (decision_id, status, detail) VALUES (@id, @status, @detail)",
                new { id, status = request.Status, detail = request.Detail.Length == 0 ? null : request.Detail }, cancellationToken: ct));
            return new ReportOutcomeResponse();
        }, context);

    // How long a read waits for an acknowledged decision to reach PostgreSQL before answering UNAVAILABLE.
    private static readonly TimeSpan PendingWait = TimeSpan.FromSeconds(5);

    // A decision acknowledged but not in PostgreSQL yet (journal mode ships it within milliseconds; the PEP
    // reports an outcome right after the tool runs): waits up to PendingWait while it is pending. False when the
    // decision log does not know it, so the caller answers NOT_FOUND as before.
    private async Task<bool> WaitWhilePendingAsync(string id, CancellationToken ct)
    {
        if (_log is null || !_log.IsPending(id)) return false;
        var deadline = DateTime.UtcNow + PendingWait;
        while (_log.IsPending(id) && DateTime.UtcNow < deadline) await Task.Delay(2, ct);
        return true;
    }

    private static RpcException NotYetStored(string id) => new(new Status(StatusCode.Unavailable,
        $"decision {id} is recorded in the local spool and not yet in PostgreSQL; retry later"));

    private static Task<bool> DecisionStoredAsync(NpgsqlConnection conn, string id, CancellationToken ct) =>
        conn.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM decision_ids WHERE decision_id = @id)", new { id }, cancellationToken: ct));

    private static async Task<List<Row>> SessionRows(NpgsqlConnection conn, string sessionId, CancellationToken ct)
    {
        if (sessionId.Length > 2048) throw Invalid("session_id is longer than 2048 characters");
        return (await conn.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM decisions WHERE session_id = @sessionId ORDER BY decided_at, decision_id LIMIT {MaxChain}",
            new { sessionId }, cancellationToken: ct))).ToList();
    }

    private static async Task<List<DecisionRecord>> WithOutcomes(NpgsqlConnection conn, List<Row> rows, CancellationToken ct)
    {
        var result = rows.Select(ToProto).ToList();
        if (rows.Count == 0) return result;
        var ids = rows.Select(r => r.decision_id).Distinct().ToArray();
        var outcomes = await conn.QueryAsync<OutcomeRow>(new CommandDefinition(
            "SELECT decision_id, status, detail, reported_at FROM outcomes WHERE decision_id = ANY(@ids) ORDER BY reported_at, id",
            new { ids }, cancellationToken: ct));
        var byId = result.ToLookup(r => r.DecisionId);
        foreach (var o in outcomes)
            foreach (var record in byId[o.decision_id])
                record.Outcomes.Add(new Outcome
                {
                    DecisionId = o.decision_id, Status = o.status, Detail = o.detail ?? "",
                    ReportedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(o.reported_at, DateTimeKind.Utc)),
                });
        return result;
    }

    private static DecisionRecord ToProto(Row r)
    {
        var record = new DecisionRecord
        {
            DecisionId = r.decision_id,
            DecidedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(r.decided_at, DateTimeKind.Utc)),
            RequestId = r.request_id ?? "",
            Workload = new Workload { SpiffeId = r.spiffe_id ?? "", Issuer = r.issuer ?? "", Subject = r.subject ?? "" },
            Tool = new Tool { Server = r.server ?? "", Name = r.tool },
            Resource = new Resource { Type = r.resource_type ?? "", Id = r.resource_id ?? "", Sensitivity = r.resource_sensitivity ?? "" },
            CredentialKind = r.credential_kind ?? "",
            SessionId = r.session_id ?? "",
            ParentDecisionId = r.parent_decision_id ?? "",
            Decision = r.decision switch
            {
                "allow" => Decision.Allow,
                "deny" => Decision.Deny,
                "require_approval" => Decision.RequireApproval,
                _ => Decision.Unspecified, // "invalid": refused before any decision
            },
            ExceptionPath = r.exception_path ?? "",
            PolicyRevision = r.policy_revision,
            EvalMicros = r.eval_micros,
        };
        foreach (var (k, v) in StringMap(r.workload_attributes)) record.Workload.Attributes[k] = v;
        foreach (var (k, v) in StringMap(r.annotations)) record.Tool.Annotations[k] = v;
        if (r.reasons is { Length: > 0 } && JsonNode.Parse(r.reasons) is JsonArray reasons)
            foreach (var reason in reasons.OfType<JsonObject>())
                record.Reasons.Add(new Reason
                {
                    Code = reason["code"]?.ToString() ?? "", Message = reason["message"]?.ToString() ?? "", Rule = reason["rule"]?.ToString() ?? "",
                });
        if (r.obligations is { Length: > 0 } && r.obligations != "null") record.Obligations = JsonUtil.ToStruct(r.obligations);
        return record;
    }

    private static IEnumerable<KeyValuePair<string, string>> StringMap(string? json)
    {
        if (string.IsNullOrEmpty(json) || JsonNode.Parse(json) is not JsonObject obj) yield break;
        foreach (var (k, v) in obj) yield return KeyValuePair.Create(k, v?.ToString() ?? "");
    }

    private async Task<NpgsqlConnection> Open(CancellationToken ct) =>
        _db is null
            ? throw new RpcException(new Status(StatusCode.Unavailable, "no decision database is configured"))
            : await _db.OpenConnectionAsync(ct);

    private async Task<T> Guard<T>(Func<CancellationToken, Task<T>> action, ServerCallContext context)
    {
        try
        {
            return await action(context.CancellationToken);
        }
        catch (RpcException) { throw; }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "cancelled"));
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            _logger.LogWarning("Decision log query failed: {Error}", e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "the decision database is unavailable"));
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static string RequireUuid(string value, string field)
    {
        if (value.Length == 0) throw Invalid($"{field} is required");
        if (!Guid.TryParseExact(value, "D", out var g)) throw Invalid($"{field} is not a UUID");
        return g.ToString();
    }

    private static DateTime TimeArg(Timestamp ts, string field)
    {
        try { return ts.ToDateTime(); }
        catch (Exception) { throw Invalid($"{field} is out of range"); }
    }

    // Keyset paging: the last row's (decided_at, decision_id), base64url so it is opaque to callers.
    private static string EncodeToken(DateTime at, string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{DateTime.SpecifyKind(at, DateTimeKind.Utc).Ticks}|{id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (DateTime At, string Id) DecodeToken(string token)
    {
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            b64 += new string('=', (4 - b64.Length % 4) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            var bar = text.IndexOf('|');
            var ticks = long.Parse(text[..bar], CultureInfo.InvariantCulture);
            var id = text[(bar + 1)..];
            if (!Guid.TryParseExact(id, "D", out _)) throw new FormatException();
            return (new DateTime(ticks, DateTimeKind.Utc), id);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw Invalid("page_token is malformed");
        }
    }
}
