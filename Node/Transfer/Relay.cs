using Microsoft.AspNetCore.Http;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Transfer;

/// <summary>What the apt proxy and the redirect cache both do with an origin's answer: copy its headers, stream its body (counted as internet bytes, optionally teed), or say the origin is unreachable.</summary>
internal static class Relay
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
    };

    /// <summary>Headers that belong to one connection (RFC 9110 §7.6.1) and are never forwarded.</summary>
    public static bool IsHopByHop(string header) => HopByHop.Contains(header);

    public static void CopyHeaders(HttpResponseMessage from, HttpResponse to)
    {
        to.StatusCode = (int)from.StatusCode;
        foreach (var (key, values) in from.Headers.Concat(from.Content.Headers))
        {
            if (!HopByHop.Contains(key))
            {
                to.Headers[key] = values.ToArray();
            }
        }
    }

    public static async Task BadGatewayAsync(HttpContext ctx, string host, string error)
    {
        ctx.Response.StatusCode = StatusCodes.Status502BadGateway;
        await ctx.Response.WriteAsync($"PeerPatch: {host} unreachable: {error}\n").ConfigureAwait(false);
    }

    /// <summary>Streams <paramref name="from"/> to <paramref name="to"/> with a pooled buffer, each chunk also to <paramref name="tee"/> when given.</summary>
    public static async Task CopyAsync(Stream from, Stream to, Func<ReadOnlyMemory<byte>, ValueTask>? tee, NodeStats stats, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                stats.AddInternetBytes(n);
                await to.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                if (tee is not null)
                {
                    await tee(buffer.AsMemory(0, n)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
