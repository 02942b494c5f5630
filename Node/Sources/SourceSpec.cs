namespace PeerPatch.Node.Sources;

/// <summary>
/// A configured source: "manifest:URL" (URL may contain {os}), "apt" (this OS's pending upgrades), or "none" (no
/// source at all, not even the default one: the node serves the LAN only).
/// </summary>
internal sealed record SourceSpec(string Kind, string Target)
{
    public static bool TryParse(string text, out SourceSpec spec, out string error)
    {
        spec = new SourceSpec(string.Empty, string.Empty);
        error = string.Empty;
        if (text.StartsWith("manifest:", StringComparison.Ordinal))
        {
            var url = text["manifest:".Length..];
            var probe = url.Replace("{os}", "os", StringComparison.Ordinal);
            if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                error = $"'{text}': the manifest URL must be absolute http(s)";
                return false;
            }

            spec = new SourceSpec("manifest", url);
            return true;
        }

        if (text is "apt" or "none")
        {
            spec = new SourceSpec(text, string.Empty);
            return true;
        }

        error = $"'{text}': unknown source (expected manifest:URL, apt or none)";
        return false;
    }
}
