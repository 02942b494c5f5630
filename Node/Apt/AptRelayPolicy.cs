using System.Net;
using System.Net.Sockets;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Apt;

/// <summary>Why the apt proxy refused a request (the label of the refusal counter).</summary>
internal enum RelayRefusal
{
    None,

    /// <summary>Not an apt file (see <see cref="ArchiveFiles"/>), or a path that is not canonical (traversal...).</summary>
    NotAptPath,

    /// <summary>A host and port that neither apt's sources nor the admin name.</summary>
    NotListed,

    /// <summary>The target resolves to this machine: loopback, unspecified or one of its interfaces' addresses.</summary>
    ThisMachine,

    /// <summary>A method other than GET and HEAD.</summary>
    Method,
}

/// <summary>
/// What the apt proxy relays (issue 19: not an open proxy): GET/HEAD of apt files (<see cref="ArchiveFiles"/>) and
/// CONNECT tunnels, only to the host and port of an origin that apt's sources or the admin list
/// (<see cref="AptSourcesList"/>), and never to this machine's own addresses (loopback or any interface) unless the
/// admin listed that exact endpoint. A listed name is resolved first and each address checked; the internet client
/// checks again at connect time (<see cref="Transfer.ConnectGuard"/>), so a name that resolves differently the second time
/// (DNS rebinding) is still refused.
/// </summary>
internal sealed class AptRelayPolicy(AptSourcesList sources, LocalAddresses local, TransferOptions options, TimeProvider time)
{
    public LocalAddresses Local => local;

    /// <summary>The verdict on a relayed GET/HEAD (scheme http) or a CONNECT (scheme https, no path).</summary>
    public async Task<(RelayRefusal Refusal, bool AdminListed)> CheckAsync(RelayEndpoint endpoint, string? canonicalPath, CancellationToken ct)
    {
        if (canonicalPath is not null && !ArchiveFiles.IsAptFile(canonicalPath))
        {
            return (RelayRefusal.NotAptPath, false);
        }

        if (!sources.IsListed(endpoint))
        {
            return (RelayRefusal.NotListed, false);
        }

        var admin = sources.IsAdminListed(endpoint);
        if (admin)
        {
            return (RelayRefusal.None, true);
        }

        if (endpoint.Host is "localhost" || endpoint.Host.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return (RelayRefusal.ThisMachine, false);
        }

        IPAddress[] addresses;
        // The look-up is bounded like the connect it precedes (InternetConnectTimeout). Unresolvable or too slow here
        // is no refusal: the upstream connect resolves again under its own bound, and its guard refuses this machine.
        using var bound = new CancellationTokenSource(options.InternetConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, bound.Token);
        try
        {
            addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && bound.IsCancellationRequested && !ct.IsCancellationRequested))
        {
            return (RelayRefusal.None, false);
        }

        return (addresses.Any(local.IsThisMachine) ? RelayRefusal.ThisMachine : RelayRefusal.None, false);
    }
}
