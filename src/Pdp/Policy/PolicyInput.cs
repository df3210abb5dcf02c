using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Pdp.Service;

namespace Pdp.Policy;

/// <summary>
/// One Rego input document with its canonical JSON text (sorted keys) and that text's SHA-256, each computed at
/// most once: the engine parses the text, the decision record stores the hash. Treat <see cref="Document"/> as
/// read-only once the text was taken.
/// </summary>
public sealed class PolicyInput(JsonObject document)
{
    private string? _json;
    private string? _hash;

    /// <summary>The input document.</summary>
    public JsonObject Document { get; } = document ?? throw new ArgumentNullException(nameof(document));

    /// <summary>Canonical JSON text of <see cref="Document"/>.</summary>
    public string Json => _json ??= JsonUtil.Canonical(Document);

    /// <summary>Lower-case hex SHA-256 of <see cref="Json"/> (UTF-8).</summary>
    public string Hash => _hash ??= Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Json)));
}
