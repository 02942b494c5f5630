using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PeerPatch.Protocol.Security;

/// <summary>
/// Signs an HTTP write with the cluster key: <c>Authorization: PeerPatch node=ID, ts=UNIXMS, nonce=HEX32, mac=HEX64</c>,
/// the MAC being HMAC-SHA256 (HTTP key) over "METHOD\nPATH?QUERY\nID\nTS\nNONCE". The body is not covered: every
/// signed write is bound to content by other means (a blob PUT to the SHA-256 in its path, checked byte for byte).
/// Freshness (the time window and the nonce never seen before) is the receiver's check.
/// </summary>
public static class HttpSignature
{
    /// <summary>The Authorization scheme.</summary>
    public const string Scheme = "PeerPatch";

    /// <summary>Longest header value accepted.</summary>
    public const int MaxHeaderLength = 512;

    /// <summary>The Authorization header value for one request.</summary>
    public static string Create(ClusterKey key, string method, string pathAndQuery, string nodeId, long unixMs, ReadOnlySpan<byte> nonce)
    {
        var nonceHex = Convert.ToHexStringLower(nonce);
        return FormattableString.Invariant($"{Scheme} node={nodeId}, ts={unixMs}, nonce={nonceHex}, mac={Mac(key, method, pathAndQuery, nodeId, unixMs, nonceHex)}");
    }

    /// <summary>
    /// Parses <paramref name="header"/> and checks its MAC for this request in constant time. On success
    /// <paramref name="claims"/> holds the signer's node id, time and nonce; on failure <paramref name="error"/> says why.
    /// </summary>
    public static bool TryVerify(ClusterKey key, string method, string pathAndQuery, string? header, out HttpSignatureClaims claims, out string error)
    {
        claims = default;
        if (string.IsNullOrEmpty(header))
        {
            error = "this endpoint needs the cluster key: no Authorization header";
            return false;
        }

        if (header.Length > MaxHeaderLength || !header.StartsWith(Scheme + " ", StringComparison.Ordinal))
        {
            error = $"Authorization is not a {Scheme} signature";
            return false;
        }

        string? node = null, ts = null, nonce = null, mac = null;
        foreach (var part in header[(Scheme.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var value = part[(eq + 1)..];
            switch (part[..eq])
            {
                case "node": node = value; break;
                case "ts": ts = value; break;
                case "nonce": nonce = value; break;
                case "mac": mac = value; break;
            }
        }

        if (!WireFormat.IsNodeId(node) || !long.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out var unixMs)
            || nonce is not { Length: 32 } || !IsHex(nonce) || mac is not { Length: 64 } || !IsHex(mac))
        {
            error = "malformed PeerPatch signature (node, ts, nonce and mac are required)";
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Mac(key, method, pathAndQuery, node!, unixMs, nonce));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(mac.ToLowerInvariant())))
        {
            error = "bad signature: this request was not signed with this LAN's cluster key";
            return false;
        }

        claims = new HttpSignatureClaims(node!, unixMs, nonce.ToLowerInvariant());
        error = string.Empty;
        return true;
    }

    private static string Mac(ClusterKey key, string method, string pathAndQuery, string nodeId, long unixMs, string nonceHex)
    {
        var data = Encoding.UTF8.GetBytes(FormattableString.Invariant($"{method.ToUpperInvariant()}\n{pathAndQuery}\n{nodeId}\n{unixMs}\n{nonceHex.ToLowerInvariant()}"));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        key.SignHttp(data, mac);
        return Convert.ToHexStringLower(mac);
    }

    private static bool IsHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
