using System.Net;
using System.Net.Sockets;
using DnsClient;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// The internet HttpClient's ConnectCallback: a domain the hosts file redirects to PeerPatch is resolved to its real
/// address through DNS (DnsClient), never through the hosts file, or the transparent cache would fetch from itself;
/// every other host is resolved as usual. A redirected domain's DNS addresses that are this node's own redirect listener
/// are dropped (the hosts file's own answer, handed back by a resolver that reads it): the node never fetches a
/// redirected domain from itself. Requests the apt proxy relays never connect to this machine
/// (<see cref="ConnectGuard"/>).
/// </summary>
internal sealed class UpstreamResolver : IUpstreamConnector
{
    private readonly LookupClient _dns;
    private readonly RedirectTable _table;
    private readonly LocalAddresses _local;

    private readonly IPAddress _bind;
    private readonly int _redirectPort;

    public UpstreamResolver(RedirectOptions options, CoreOptions core, RedirectTable table, LocalAddresses local)
    {
        _table = table;
        _local = local;
        _redirectPort = options.RedirectPort;
        _bind = IPAddress.TryParse(core.Bind, out var bind) ? bind : IPAddress.Any;
        _dns = options.RedirectDns is { } server
            ? new LookupClient(new LookupClientOptions(ParseServer(server)) { UseCache = true, Timeout = TimeSpan.FromSeconds(3), Retries = 1 })
            : new LookupClient(new LookupClientOptions { UseCache = true, Timeout = TimeSpan.FromSeconds(3), Retries = 1 });
    }

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else if (!_table.IsRedirected(host))
        {
            addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        }
        else
        {
            var answer = await _dns.QueryAsync(host, QueryType.A, cancellationToken: ct).ConfigureAwait(false);
            var all = answer.Answers.ARecords().Select(a => a.Address).ToList();
            if (all.Count == 0)
            {
                throw new HttpRequestException($"DNS has no address for {host}");
            }

            // The hosts file sends the domain to this node: a resolver that reads the hosts file (systemd-resolved, dnsmasq)
            // hands that answer back, and connecting there would fetch from this node itself, each hop opening another
            // connection until the per-client cap aborts them all. A real origin on this machine (another address) is fine.
            addresses = [.. all.Where(a => !IsOwnListener(a, context.DnsEndPoint.Port))];
            if (addresses.Length == 0)
            {
                throw new HttpRequestException($"{host} resolves to this machine's own redirect listener ({string.Join(", ", all)} port {context.DnsEndPoint.Port}) through DNS: the resolver answers from the hosts file (systemd-resolved, dnsmasq); set RedirectDns to a DNS server that does not");
            }
        }

        // A request the apt proxy relays for a client may not reach this machine (unless the admin listed the origin):
        // checked on the addresses actually connected to, so a name that resolves differently now is still refused.
        // A connection to a system proxy (another host than the request's) is the proxy's to resolve.
        var request = context.InitialRequestMessage;
        if (request.Options.TryGetValue(ConnectGuard.MayReachThisMachine, out var mayReachThisMachine) && !mayReachThisMachine
            && string.Equals(request.RequestUri?.IdnHost, host, StringComparison.OrdinalIgnoreCase) && addresses.Any(_local.IsThisMachine))
        {
            throw new HttpRequestException($"{host} resolves to this machine: not relayed");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True when a connection to <paramref name="address"/>:<paramref name="port"/> reaches this node's <see cref="RedirectListener"/>.</summary>
    private bool IsOwnListener(IPAddress address, int port) =>
        _redirectPort > 0 && port == _redirectPort
        && (_bind.Equals(IPAddress.Any) || _bind.Equals(IPAddress.IPv6Any) ? _local.IsThisMachine(address) : _bind.Equals(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));

    private static IPEndPoint ParseServer(string server) =>
        IPEndPoint.TryParse(server, out var ep) ? (ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep)
        : throw new FormatException($"RedirectDns '{server}' is not HOST[:PORT]");
}
