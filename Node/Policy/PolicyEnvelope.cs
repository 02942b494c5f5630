using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PeerPatch.Node.Policy;

/// <summary>
/// One version of the LAN's policy as the server accepted it: the document, its version (monotonic, one more than
/// the one it replaced), who set it (node id, or "diag" for approve/hold) and when (the server's clock). Its text
/// (<see cref="ToJson"/>) is what is stored, replicated and sealed with the cluster key.
/// </summary>
internal sealed record PolicyEnvelope(long Version, string SetBy, DateTimeOffset SetAt, PolicyDocument Document)
{
    /// <summary>
    /// The highest version (2^48, as the cluster's terms): a LAN that makes a version a second reaches it in nine
    /// million years. A copy above it is refused, and the server's versions stop there (copies of it are then ordered
    /// by <see cref="SetAt"/>), so no offer, however high, can make the next version overflow and freeze the policy.
    /// </summary>
    public const long MaxVersion = 1L << 48;

    /// <summary>
    /// How far in the future of a receiver's clock (a server offered a copy, a node handed one) a copy of
    /// <see cref="MaxVersion"/> may have been set: 10 min, as the cluster's signed requests (<c>ClusterAuth.Skew</c>).
    /// </summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(10);

    /// <summary>
    /// True for a copy at <see cref="MaxVersion"/> set more than <see cref="MaxClockSkew"/> after <paramref name="now"/>.
    /// At that version only <see cref="SetAt"/> orders copies, so such a copy (from a broken or hostile server) would
    /// win over every legitimate change until that date: it is refused, and one already held yields to any other copy.
    /// Below it the version decides, and a copy from a server whose clock runs ahead is taken as before.
    /// </summary>
    public bool IsSetTooFarAhead(DateTimeOffset now) => Version >= MaxVersion && SetAt > now + MaxClockSkew;

    /// <summary>Version 0: the defaults, never set by anyone.</summary>
    public static PolicyEnvelope Default { get; } = new(0, "defaults", DateTimeOffset.UnixEpoch, PolicyDocument.Default);

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", Version);
            writer.WriteString("setBy", SetBy);
            writer.WriteString("setAt", SetAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            writer.WritePropertyName("policy");
            PolicyWriter.Write(writer, Document);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads an envelope (a stored or replicated one): as strict as an admin's file, known sets aside.</summary>
    public static bool TryParse(string text, out PolicyEnvelope? envelope, out IReadOnlyList<string> errors)
    {
        envelope = null;
        var problems = new List<string>();
        errors = problems;
        if (Encoding.UTF8.GetByteCount(text) > PolicyParser.MaxBytes * 2)
        {
            problems.Add("policy envelope too large");
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 10 });
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add("policy envelope: expected an object");
                return false;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!names.Add(p.Name) || p.Name is not ("version" or "setBy" or "setAt" or "policy"))
                {
                    problems.Add($"policy envelope: unexpected or repeated field \"{p.Name}\"");
                }
            }

            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var version) || version is < 0 or > MaxVersion)
            {
                problems.Add($"policy envelope: version must be an integer from 0 to {MaxVersion}");
                version = 0;
            }

            var setBy = root.TryGetProperty("setBy", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : null;
            if (setBy is null || setBy.Length is 0 or > 128)
            {
                problems.Add("policy envelope: setBy must be a short string");
            }

            DateTimeOffset setAt = default;
            if (!root.TryGetProperty("setAt", out var a) || a.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(a.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out setAt))
            {
                problems.Add("policy envelope: setAt must be a UTC time");
            }

            PolicyDocument? document = null;
            if (root.TryGetProperty("policy", out var d))
            {
                document = PolicyParser.Read(d, problems);
            }
            else
            {
                problems.Add("policy envelope: no policy");
            }

            if (problems.Count > 0 || document is null)
            {
                return false;
            }

            envelope = new PolicyEnvelope(version, setBy!, setAt, document);
            return true;
        }
        catch (JsonException e)
        {
            problems.Add($"policy envelope is not valid JSON: {e.Message}");
            return false;
        }
    }
}
