using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The server's own blob URL as an asker reaches it: on the interface whose IPv4 subnet holds the asker's address
/// (loopback for a loopback asker), the interfaces read again at most every <see cref="MaxAge"/>. Null when no
/// interface matches: the asker then uses the answer's <c>BlobUrl</c> (relative to the server it asked).
/// </summary>
internal sealed class ServerAddresses(TimeProvider time)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);
    /// <summary>Bases kept (this node's own addresses, and loopback askers' addresses): far more than a PC has.</summary>
    private const int MaxBases = 64;

    private readonly Lock _lock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(IPAddress, int), string> _bases = new();
    private (IPAddress Address, IPAddress Mask)[] _subnets = [];
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    public string? UrlFor(IPAddress asker, int httpPort, string sha256) =>
        AddressFacing(asker) is { } address ? BlobUrlOn(address, httpPort, sha256) : null;

    /// <summary>This server's address that <paramref name="asker"/> reaches (as <see cref="UrlFor"/> picks it), or null.</summary>
    public IPAddress? AddressFacing(IPAddress asker)
    {
        var remote = asker.Unmapped();
        if (IPAddress.IsLoopback(remote))
        {
            return remote;
        }

        if (remote.AddressFamily != AddressFamily.InterNetwork)
        {
            return null;
        }

        foreach (var (address, mask) in Subnets())
        {
            if (SameSubnet(address, remote, mask))
            {
                return address;
            }
        }

        return null;
    }

    /// <summary>
    /// <see cref="Protocol.Http.BlobUrl.On"/> of this server's base on <paramref name="address"/>, as a string: the base
    /// is built (a <see cref="Uri"/>, parsed) once per address and port and kept, since every hit asks for it.
    /// </summary>
    private string BlobUrlOn(IPAddress address, int httpPort, string sha256)
    {
        var key = (address, httpPort);
        if (!_bases.TryGetValue(key, out var httpBase))
        {
            httpBase = PatchServer.HttpBase(address, httpPort).AbsoluteUri;
            if (_bases.Count < MaxBases)
            {
                _bases[key] = httpBase;
            }
        }

        return string.Concat(httpBase, Protocol.Http.BlobUrl.PathOf(sha256).AsSpan(1));
    }

    internal static bool SameSubnet(IPAddress a, IPAddress b, IPAddress mask)
    {
        Span<byte> x = stackalloc byte[4], y = stackalloc byte[4], m = stackalloc byte[4];
        if (!a.TryWriteBytes(x, out _) || !b.TryWriteBytes(y, out _) || !mask.TryWriteBytes(m, out _))
        {
            return false;
        }

        for (var i = 0; i < 4; i++)
        {
            if ((x[i] & m[i]) != (y[i] & m[i]))
            {
                return false;
            }
        }

        return true;
    }

    private (IPAddress Address, IPAddress Mask)[] Subnets()
    {
        var now = time.MonotonicNow();
        lock (_lock)
        {
            if (now - _readAt < MaxAge && now >= _readAt)
            {
                return _subnets;
            }

            var list = new List<(IPAddress, IPAddress)>();
            try
            {
                foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                {
                    if (nic.OperationalStatus != OperationalStatus.Up)
                    {
                        continue;
                    }

                    foreach (var u in nic.GetIPProperties().UnicastAddresses)
                    {
                        if (u.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(u.Address))
                        {
                            list.Add((u.Address, u.IPv4Mask));
                        }
                    }
                }
            }
            catch (NetworkInformationException)
            {
                // keep what was read last
                return _subnets;
            }

            (_subnets, _readAt) = ([.. list], now);
            return _subnets;
        }
    }
}
