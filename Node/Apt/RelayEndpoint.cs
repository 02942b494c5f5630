using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Apt;

/// <summary>One origin the apt proxy may relay to: scheme ("http" relayed, "https" tunnelled by CONNECT), lower-case host, port.</summary>
internal readonly record struct RelayEndpoint(string Scheme, string Host, int Port)
{
    /// <summary>
    /// Parses an admin's entry: a URL (http://HOST[:PORT]/..., https://...) names that one endpoint; a bare HOST[:PORT]
    /// names plain HTTP on PORT (default 80) and HTTPS tunnels to PORT (default: each of <paramref name="connectPorts"/>).
    /// </summary>
    public static bool TryParseEntry(string entry, IReadOnlyList<int> connectPorts, out IReadOnlyList<RelayEndpoint> endpoints)
    {
        endpoints = [];
        entry = entry.Trim();
        if (entry.Contains("://", StringComparison.Ordinal))
        {
            if (TryFromSourceUri(entry, out var one))
            {
                endpoints = [one];
                return true;
            }

            return false;
        }

        var explicitPort = entry.StartsWith('[') ? entry.Contains("]:", StringComparison.Ordinal) : entry.Contains(':', StringComparison.Ordinal);
        if (!ArchiveUrl.TryParseAuthority(entry, 80, out var host, out var port))
        {
            return false;
        }

        var list = new List<RelayEndpoint> { new("http", host, port) };
        list.AddRange(explicitPort ? [new("https", host, port)] : connectPorts.Select(p => new RelayEndpoint("https", host, p)));
        endpoints = list;
        return true;
    }

    /// <summary>The endpoint of an apt source URI (http:// or https://; other methods such as mirror+, tor+, file:, cdrom: name none).</summary>
    public static bool TryFromSourceUri(string uri, out RelayEndpoint endpoint)
    {
        endpoint = default;
        if (!Uri.TryCreate(uri.Trim(), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.UserInfo.Length > 0
            || !ArchiveUrl.TryParseAuthority(u.Authority, u.Port, out var host, out _))
        {
            return false;
        }

        endpoint = new RelayEndpoint(u.Scheme, host, u.Port);
        return true;
    }
}
