using System.Net;
using PeerPatch.Node.Discovery;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

/// <summary>
/// One interface (eth0, 10.0.0.1) without sockets: every packet a responder hands over is recorded in order (encoded
/// and decoded, as it would travel), and the test delivers packets as if they had arrived. Sends complete at once,
/// or wait while <see cref="HoldSends"/> is set (a busy socket), still recorded in the order they were handed over.
/// </summary>
internal sealed class FakeMdnsTransport : IMdnsTransport
{
    public static readonly MdnsInterface Nic = new("eth0", 2, IPAddress.Parse("10.0.0.1"));
    private readonly List<SentPacket> _sent = [];

    public event Action<DnsMessage, IPEndPoint, int>? Received;

    /// <summary>While set, every send waits for it (it is still recorded when handed over).</summary>
    public TaskCompletionSource? HoldSends { get; set; }

    /// <summary>Every packet handed over so far, in order.</summary>
    public IReadOnlyList<SentPacket> Sent
    {
        get
        {
            lock (_sent)
            {
                return [.. _sent];
            }
        }
    }

    public Task SendMulticastAsync(Func<MdnsInterface, DnsMessage> build, int? interfaceIndex = null)
    {
        if (interfaceIndex is not null && interfaceIndex != Nic.Index)
        {
            return Task.CompletedTask;
        }

        return Record(new SentPacket(RoundTrip(build(Nic)), null));
    }

    public Task SendUnicastAsync(DnsMessage message, IPEndPoint to, int interfaceIndex) => Record(new SentPacket(RoundTrip(message), to));

    public MdnsInterface? Interface(int index) => index == Nic.Index ? Nic : null;

    /// <summary>A packet arriving on eth0 from <paramref name="from"/>.</summary>
    public void Deliver(DnsMessage message, IPEndPoint from) => Received?.Invoke(RoundTrip(message), from, Nic.Index);

    private static DnsMessage RoundTrip(DnsMessage message) => DnsCodec.Decode(DnsCodec.Encode(message));

    private Task Record(SentPacket packet)
    {
        lock (_sent)
        {
            _sent.Add(packet);
        }

        return HoldSends?.Task ?? Task.CompletedTask;
    }
}

/// <summary>A packet a responder sent: multicast when <see cref="To"/> is null.</summary>
internal sealed record SentPacket(DnsMessage Message, IPEndPoint? To)
{
    /// <summary>A response whose records all have TTL 0 (RFC 6762 §10.1).</summary>
    public bool IsGoodbye => Message.IsResponse && Message.AllRecords.Any() && Message.AllRecords.All(r => r.Ttl == 0);

    /// <summary>A response carrying at least one record with a TTL above 0.</summary>
    public bool IsLive => Message.IsResponse && Message.AllRecords.Any(r => r.Ttl > 0);
}
