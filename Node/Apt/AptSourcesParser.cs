namespace PeerPatch.Node.Apt;

/// <summary>
/// Reads the origins an apt configuration names: sources.list one-line entries (<c>deb [opts] URI suite comps</c>,
/// <c>deb-src</c>) and deb822 <c>.sources</c> stanzas (<c>URIs:</c>, <c>Enabled: no</c> skipped). Untrusted text of
/// bounded size (the caller caps it); malformed lines are skipped.
/// </summary>
internal static class AptSourcesParser
{
    public static IEnumerable<RelayEndpoint> ParseOneLine(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#', 2)[0].Trim();
            var type = line.StartsWith("deb-src", StringComparison.Ordinal) ? 7 : line.StartsWith("deb", StringComparison.Ordinal) ? 3 : 0;
            if (type == 0 || line.Length <= type || line[type] is not (' ' or '\t'))
            {
                continue; // a comment, a blank line, "debfoo"
            }

            var rest = line.AsSpan(type).TrimStart();

            if (rest[0] == '[')
            {
                var close = rest.IndexOf(']');
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..].TrimStart();
            }

            var end = rest.IndexOfAny(' ', '\t');
            var uri = (end < 0 ? rest : rest[..end]).ToString();
            if (RelayEndpoint.TryFromSourceUri(uri, out var endpoint))
            {
                yield return endpoint;
            }
        }
    }

    public static IEnumerable<RelayEndpoint> ParseDeb822(string text)
    {
        foreach (var stanza in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n"))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? last = null;
            foreach (var raw in stanza.Split('\n'))
            {
                if (raw.StartsWith('#') || raw.Trim().Length == 0)
                {
                    continue;
                }

                if (raw[0] is ' ' or '\t')
                {
                    if (last is not null)
                    {
                        fields[last] += " " + raw.Trim();
                    }

                    continue;
                }

                var colon = raw.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    last = null;
                    continue;
                }

                last = raw[..colon].Trim();
                fields[last] = raw[(colon + 1)..].Trim();
            }

            if (fields.TryGetValue("Enabled", out var enabled) && enabled.Trim().Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!fields.TryGetValue("URIs", out var uris))
            {
                continue;
            }

            foreach (var uri in uris.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (RelayEndpoint.TryFromSourceUri(uri, out var endpoint))
                {
                    yield return endpoint;
                }
            }
        }
    }
}
