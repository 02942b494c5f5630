using System.Net;
using System.Net.Sockets;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A DNS server on 127.0.0.1 for tests (UDP, random port) that answers every A question with one address and
/// counts the questions: "the real DNS" of a redirected domain, so no query leaves this machine.
/// </summary>
internal sealed class TestDnsServer : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private int _queries;

    public TestDnsServer(IPAddress answer)
    {
        _ = ServeAsync(answer);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    public int Queries => Volatile.Read(ref _queries);

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _stop.Dispose();
    }

    private async Task ServeAsync(IPAddress answer)
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult got;
            try
            {
                got = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (!DnsCodec.TryDecode(got.Buffer, out var query, out _) || query is null || query.IsResponse)
            {
                continue;
            }

            Interlocked.Increment(ref _queries);
            var answers = query.Questions.Where(q => q.Type == DnsType.A).Select(q => (DnsRecord)new AddressRecord(q.Name, 30, false, answer)).ToList();
            var reply = new DnsMessage(query.Id, true, true, query.Questions, answers, [], []);
            await _udp.SendAsync(DnsCodec.Encode(reply), got.RemoteEndPoint);
        }
    }
}
