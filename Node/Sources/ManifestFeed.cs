using System.Text.Json;
using System.Text.Json.Serialization;
using PeerPatch.Protocol;

namespace PeerPatch.Node.Sources;

/// <summary>
/// The manifest feed contract:
/// {"os":"debian-12-amd64","patches":[{"name":"KB1","url":"http://..","sha256":"<64 hex>","size":1234,
///   "apply":{"command":"/bin/sh","args":["{file}"],"timeoutSeconds":600}}]}
/// Parsing is strict: every field is checked, and the whole feed is refused on the first bad patch.
/// </summary>
internal static partial class ManifestFeed
{
    /// <summary>Largest feed document accepted.</summary>
    public const int MaxFeedBytes = 16 << 20;

    private const int MaxPatches = 100_000;
    private const int MaxArgs = 64;
    private const int MaxArgLength = 4096;

    public static IReadOnlyList<PatchSpec> Parse(ReadOnlySpan<byte> json, string expectedOs, long maxPatchBytes)
    {
        FeedDto? feed;
        try
        {
            feed = JsonSerializer.Deserialize(json, FeedJson.Default.FeedDto);
        }
        catch (JsonException e)
        {
            throw new PatchSourceException($"feed is not valid JSON: {e.Message}");
        }

        if (feed?.Patches is null || feed.Os is null)
        {
            throw new PatchSourceException("feed must have \"os\" and \"patches\"");
        }

        if (feed.Os != expectedOs)
        {
            throw new PatchSourceException($"feed is for OS '{feed.Os}', this node is '{expectedOs}'");
        }

        if (feed.Patches.Count > MaxPatches)
        {
            throw new PatchSourceException($"feed lists {feed.Patches.Count} patches, more than {MaxPatches}");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<PatchSpec>(feed.Patches.Count);
        for (var i = 0; i < feed.Patches.Count; i++)
        {
            var p = feed.Patches[i] ?? throw new PatchSourceException($"patch #{i} is null");
            var where = $"patch #{i} ('{Truncate(p.Name)}')";
            if (!WireFormat.IsPatchName(p.Name))
            {
                throw new PatchSourceException($"{where}: name must be 1-{ProtocolLimits.MaxPatchNameLength} characters without control characters");
            }

            if (!names.Add(p.Name!))
            {
                throw new PatchSourceException($"{where}: listed twice");
            }

            if (!Uri.TryCreate(p.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                throw new PatchSourceException($"{where}: url must be absolute http(s)");
            }

            var sha = p.Sha256?.ToLowerInvariant();
            if (!WireFormat.IsSha256(sha))
            {
                throw new PatchSourceException($"{where}: sha256 must be 64 hex digits");
            }

            if (p.Size is not { } size || size < 0 || size > maxPatchBytes)
            {
                throw new PatchSourceException($"{where}: size must be 0-{maxPatchBytes}");
            }

            list.Add(new PatchSpec(feed.Os, p.Name!, url, sha!, size, ParseApply(p.Apply, where)));
        }

        return list;
    }

    private static ApplySpec ParseApply(ApplyDto? apply, string where)
    {
        if (apply is null || string.IsNullOrWhiteSpace(apply.Command) || apply.Command.Length > MaxArgLength || apply.Command.Contains('\0'))
        {
            throw new PatchSourceException($"{where}: apply.command is required");
        }

        var args = apply.Args ?? [];
        if (args.Count > MaxArgs || args.Any(a => a is null || a.Length > MaxArgLength || a.Contains('\0')))
        {
            throw new PatchSourceException($"{where}: apply.args must be at most {MaxArgs} strings");
        }

        if (apply.TimeoutSeconds is { } t && (t <= 0 || t > 86_400))
        {
            throw new PatchSourceException($"{where}: apply.timeoutSeconds must be 1-86400");
        }

        return new ApplySpec(apply.Command, args!, apply.TimeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : null);
    }

    private static string Truncate(string? s) => s is null ? "null" : s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>The feed's source-generated reader: exact property names, depth 16, no comments.</summary>
    [JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, MaxDepth = 16, ReadCommentHandling = JsonCommentHandling.Disallow)]
    [JsonSerializable(typeof(FeedDto))]
    private sealed partial class FeedJson : JsonSerializerContext;

    private sealed class FeedDto
    {
        [JsonPropertyName("os")]
        public string? Os { get; set; }

        [JsonPropertyName("patches")]
        public List<PatchDto?>? Patches { get; set; }
    }

    private sealed class PatchDto
    {
        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonPropertyName("url")]
        public string? Url { get; set; }

        [JsonPropertyName("sha256")]
        public string? Sha256 { get; set; }

        [JsonPropertyName("size")]
        public long? Size { get; set; }

        [JsonPropertyName("apply")]
        public ApplyDto? Apply { get; set; }
    }

    private sealed class ApplyDto
    {
        [JsonPropertyName("command")]
        public string? Command { get; set; }

        [JsonPropertyName("args")]
        public List<string?>? Args { get; set; }

        [JsonPropertyName("timeoutSeconds")]
        public int? TimeoutSeconds { get; set; }
    }
}
