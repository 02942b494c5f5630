using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Diag;

/// <summary>
/// Finds PeerPatch nodes with one-shot mDNS queries (RFC 6762 §5.1, §6.7): from an ephemeral port, so responders
/// answer by unicast and no port 5353 is needed (a node on this PC keeps it). Asks three times over
/// <c>listen</c>, then asks for SRV/TXT of instances whose answers lacked them. Hand-written because no mDNS package
/// restores here (see the README); the DNS codec is PeerPatch.Protocol's, already proven against python-zeroconf.
/// </summary>
internal static class MdnsQuery
{
    public static readonly DnsName ServiceType = DnsName.Parse("_peerpatch._udp.local");
    private static readonly IPEndPoint Group = new(IPAddress.Parse("224.0.0.251"), MdnsLimits.Port);

    /// <summary>The interfaces used: those named, or every up, multicast-capable, non-loopback IPv4 one.</summary>
    public static IReadOnlyList<(string Name, IPAddress Address)> Interfaces(IReadOnlyList<string> names)
    {
        var result = new List<(string, IPAddress)>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            var named = names.Contains(nic.Name, StringComparer.Ordinal);
            if (names.Count > 0 ? !named : nic.OperationalStatus != OperationalStatus.Up || !nic.SupportsMulticast || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            var v4 = nic.GetIPProperties().UnicastAddresses.Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            if (v4 is not null)
            {
                result.Add((nic.Name, v4));
            }
        }

        return result;
    }

    public static async Task<IReadOnlyList<FoundNode>> BrowseAsync(IReadOnlyList<string> interfaceNames, TimeSpan listen, CancellationToken ct)
    {
        var nics = Interfaces(interfaceNames);
        var records = new List<(DnsRecord Record, IPAddress From)>();
        var sockets = new List<Socket>();
        try
        {
            foreach (var (_, address) in nics)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(address, 0));
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
                sockets.Add(socket);
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(listen);
            var receiving = sockets.Select(s => ReceiveAsync(s, records, stop.Token)).ToList();
            var ptr = DnsCodec.Encode(DnsMessage.Query(new DnsQuestion(ServiceType, DnsType.Ptr)));
            for (var i = 0; i < 3 && !stop.IsCancellationRequested; i++)
            {
                foreach (var s in sockets)
                {
                    await SendAsync(s, ptr).ConfigureAwait(false);
                }

                // Then ask for whatever the answers lacked (SRV, TXT, address of an instance).
                foreach (var name in Unresolved(records))
                {
                    var q = DnsCodec.Encode(DnsMessage.Query(new DnsQuestion(name, DnsType.Srv), new DnsQuestion(name, DnsType.Txt)));
                    foreach (var s in sockets)
                    {
                        await SendAsync(s, q).ConfigureAwait(false);
                    }
                }

                try
                {
                    await Task.Delay(listen / 3, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await Task.WhenAll(receiving).ConfigureAwait(false);
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }

        lock (records)
        {
            return Resolve(records);
        }
    }

    private static async Task SendAsync(Socket socket, byte[] packet)
    {
        try
        {
            await socket.SendToAsync(packet, SocketFlags.None, Group).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // an interface without a multicast route: the others still count
        }
    }

    private static async Task ReceiveAsync(Socket socket, List<(DnsRecord, IPAddress)> records, CancellationToken ct)
    {
        var buffer = new byte[MdnsLimits.MaxPacketBytes];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveFromResult got;
            try
            {
                got = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            // Untrusted: a packet that does not decode is dropped.
            if (DnsCodec.TryDecode(buffer.AsSpan(0, got.ReceivedBytes), out var message, out _) && message is { IsResponse: true })
            {
                lock (records)
                {
                    foreach (var r in message.AllRecords.Take(MdnsLimits.MaxRecords))
                    {
                        records.Add((r, ((IPEndPoint)got.RemoteEndPoint).Address));
                    }
                }
            }
        }
    }

    private static List<DnsName> Unresolved(List<(DnsRecord Record, IPAddress From)> records)
    {
        lock (records)
        {
            var instances = records.Select(r => r.Record).OfType<PtrRecord>().Where(p => p.Name.Equals(ServiceType)).Select(p => p.Target).Distinct().ToList();
            return instances.Where(i => !records.Any(r => r.Record is SrvRecord s && s.Name.Equals(i)) || !records.Any(r => r.Record is TxtRecord t && t.Name.Equals(i))).ToList();
        }
    }

    internal static IReadOnlyList<FoundNode> Resolve(IReadOnlyList<(DnsRecord Record, IPAddress From)> records)
    {
        var found = new Dictionary<string, FoundNode>(StringComparer.Ordinal);
        var instances = records.Select(r => r.Record).OfType<PtrRecord>().Where(p => p.Name.Equals(ServiceType) && p.Ttl > 0).Select(p => p.Target).Distinct();
        foreach (var instance in instances)
        {
            var srv = records.Select(r => r.Record).OfType<SrvRecord>().LastOrDefault(s => s.Name.Equals(instance));
            var txt = records.Select(r => r.Record).OfType<TxtRecord>().LastOrDefault(t => t.Name.Equals(instance))?.Pairs();
            if (srv is null || txt is null || !txt.TryGetValue("id", out var id) || !int.TryParse(txt.GetValueOrDefault("http"), out var http))
            {
                continue;
            }

            var address = records.Select(r => r.Record).OfType<AddressRecord>().LastOrDefault(a => a.Name.Equals(srv.Target) && a.Address.AddressFamily == AddressFamily.InterNetwork)?.Address
                ?? records.First(r => r.Record is SrvRecord s && s.Name.Equals(instance)).From;
            found[id] = new FoundNode(id, address, http, txt.GetValueOrDefault("role") ?? "?", long.TryParse(txt.GetValueOrDefault("term"), out var term) ? term : 0, txt.GetValueOrDefault("v") ?? "?");
        }

        return [.. found.Values.OrderBy(f => f.NodeId, StringComparer.Ordinal)];
    }
}

/// <summary>A node as its mDNS advert describes it.</summary>
internal sealed record FoundNode(string NodeId, IPAddress Address, int HttpPort, string Role, long Term, string Protocol)
{
    public Uri BaseUri => new($"http://{(Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{HttpPort}/");
}
