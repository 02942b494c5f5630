using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Security;

/// <summary>
/// The node's cluster key (null: an open LAN) and the HTTP side of it: signs this node's writes and checks others'.
/// A signature is fresh when its time is within <see cref="Skew"/> of this node's clock and its nonce has not been
/// seen in the last 2 × <see cref="Skew"/> (so no accepted request can be replayed). Nonces are remembered by
/// monotonic time; at most <see cref="MaxNonces"/>, oldest out first.
/// </summary>
internal sealed class ClusterAuth(ClusterKey? key, NodeIdentity self, TimeProvider time)
{
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(10);
    public const int MaxNonces = 100_000;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _nonces = new(StringComparer.Ordinal);
    private readonly Queue<(string Nonce, DateTimeOffset At)> _order = new();

    public ClusterKey? Key => key;

    public bool Keyed => key is not null;

    /// <summary>This node's id: the recipient that one-way datagrams sealed for this node name.</summary>
    public string NodeId => self.NodeId;

    /// <summary>The Authorization value for a request this node sends (null: no key), at a time taken from the receiver's clock when known.</summary>
    public string? Sign(string method, string pathAndQuery, DateTimeOffset at) =>
        key is null ? null : HttpSignature.Create(key, method, pathAndQuery, self.NodeId, at.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16));

    /// <summary>Checks a request's signature; true when there is no key (an open LAN).</summary>
    public bool TryAuthorize(HttpRequest request, out string error)
    {
        if (key is null)
        {
            error = string.Empty;
            return true;
        }

        // The request-target as sent (the client signs Uri.PathAndQuery, the same escaped string).
        var target = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget
            ?? request.Path.Value + request.QueryString.Value;
        if (!HttpSignature.TryVerify(key, request.Method, target, request.Headers.Authorization.ToString(), out var claims, out error))
        {
            return false;
        }

        var skew = TimeSpan.FromMilliseconds(Math.Abs(time.GetUtcNow().ToUnixTimeMilliseconds() - claims.UnixMs));
        if (skew > Skew)
        {
            error = $"signature time is {skew.TotalMinutes:0} min away from this node's clock (limit {Skew.TotalMinutes:0} min): check both clocks";
            return false;
        }

        var now = time.MonotonicNow();
        lock (_lock)
        {
            while (_order.Count > 0 && (_order.Count >= MaxNonces || now - _order.Peek().At > 2 * Skew))
            {
                _nonces.Remove(_order.Dequeue().Nonce);
            }

            if (!_nonces.TryAdd(claims.Nonce, now))
            {
                error = "replayed request: this signature was already used";
                return false;
            }

            _order.Enqueue((claims.Nonce, now));
        }

        return true;
    }
}
