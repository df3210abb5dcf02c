using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Pdp.Service;

namespace Pdp.Policy;

/// <summary>
/// One Rego input document with its canonical JSON text (sorted keys) and that text's SHA-256, each computed at
/// most once: the engine parses the text, the decision record stores the hash. The session history is kept as
/// <see cref="SessionEvent"/>s whose canonical JSON is cached per event, and spliced into the text at
/// <c>session.history</c>, so a long history is not rebuilt as nodes and re-sorted on every Check.
/// </summary>
public sealed class PolicyInput
{
    private readonly JsonObject _document;
    private readonly IReadOnlyList<SessionEvent> _history;
    private bool _historyMaterialized;
    private string? _json;
    private string? _hash;

    /// <param name="document">The input document; when <paramref name="history"/> is given, without <c>session.history</c>.</param>
    /// <param name="history">The session's earlier decisions, oldest first (placed at <c>session.history</c>).</param>
    public PolicyInput(JsonObject document, IReadOnlyList<SessionEvent>? history = null)
    {
        _document = document ?? throw new ArgumentNullException(nameof(document));
        _history = history ?? [];
        _historyMaterialized = _history.Count == 0;
    }

    /// <summary>The full input document as nodes (the history is added on first access). Read-only by convention.</summary>
    public JsonObject Document
    {
        get
        {
            if (!_historyMaterialized && _document["session"] is JsonObject session)
            {
                session["history"] = new JsonArray(_history.Select(h => JsonNode.Parse(h.Json)).ToArray());
                _historyMaterialized = true;
            }
            return _document;
        }
    }

    /// <summary>The document without materializing the history (for the PDP's own reads of request fields).</summary>
    internal JsonObject Base => _document;

    /// <summary>Canonical JSON text of the full document.</summary>
    public string Json => _json ??= JsonUtil.Canonical(_document, HistorySubstitution());

    /// <summary>Lower-case hex SHA-256 of <see cref="Json"/> (UTF-8).</summary>
    public string Hash => _hash ??= Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Json)));

    /// <summary>Number of history entries.</summary>
    public int HistoryCount => _history.Count;

    private Dictionary<(JsonObject, string), string?>? HistorySubstitution()
    {
        if (_document["session"] is not JsonObject session) return null;
        var sb = new StringBuilder("[");
        for (int i = 0; i < _history.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(_history[i].Json);
        }
        return new() { [(session, "history")] = sb.Append(']').ToString() };
    }
}
