using System.Collections.Concurrent;
using System.Net;

namespace PeerPatch.Node.Primitives;

/// <summary>
/// The connections this node opens to its own HTTP port on a client's behalf (the redirect listener's port-80 relay),
/// by their local end point, with the client each one carries. The HTTP side counts such a connection against that
/// client (its per-client cap), not against the relay's own loopback address, which every PC behind it would share.
/// </summary>
internal sealed class RelayedClients
{
    private readonly ConcurrentDictionary<IPEndPoint, IPAddress> _clients = new();

    /// <summary>Notes that the connection from <paramref name="relaySide"/> carries <paramref name="client"/> (before it connects).</summary>
    public void Add(IPEndPoint relaySide, IPAddress client) => _clients[Normal(relaySide)] = client.Unmapped();

    public void Remove(IPEndPoint relaySide) => _clients.TryRemove(Normal(relaySide), out _);

    /// <summary>The client a connection from <paramref name="remote"/> is for: the relayed client, or the remote address itself.</summary>
    public IPAddress ClientOf(IPEndPoint remote) => _clients.TryGetValue(Normal(remote), out var client) ? client : remote.Address.Unmapped();

    private static IPEndPoint Normal(IPEndPoint endPoint) => new(endPoint.Address.Unmapped(), endPoint.Port);
}
