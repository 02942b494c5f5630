using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PeerPatch.Node.Discovery;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Mdns;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Discovery;

/// <summary>
/// Our mDNS responder and browser against an independent implementation (Debian's python3-zeroconf), on the
/// loopback interface only: no packet leaves this machine.
/// </summary>
[Trait("Category", "Network")]
public sealed class MdnsInteropTests(ITestOutputHelper output)
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private static readonly MdnsOptions Options = new() { Interfaces = ["lo"] };

    /// <summary>Each wait on python3-zeroconf (it takes a few seconds on an idle machine).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly string Tools = Path.Combine(
        typeof(MdnsInteropTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!, "tools", "mdns");

    [Fact]
    public async Task OurAdvert_IsListedByPythonZeroconf_WithItsSrvAndTxt()
    {
        await using var transport = new MdnsTransport(Options, TimeProvider.System, NullLogger<MdnsTransport>.Instance);
        transport.Start();
        var responder = new MdnsResponder(transport, Options, TimeProvider.System, new SystemRandomSource(), NullLogger<MdnsResponder>.Instance);
        var instance = "PeerPatch Test " + Guid.NewGuid().ToString("N")[..6];
        var txt = new Dictionary<string, string> { ["v"] = "1", ["id"] = "n42", ["role"] = "server", ["term"] = "7", ["http"] = "47471", ["prio"] = "100", ["cluster"] = "" };
        await responder.StartAsync(new ServiceAdvert(instance, Service, DnsName.Parse("pp-test.local"), 47470, txt), CancellationToken.None);

        var lines = await RunPythonAsync("zeroconf-browse.py", "_peerpatch._udp.local.", "3", "v4", "127.0.0.1");
        await responder.StopAsync();

        var found = lines.Select(l => JsonDocument.Parse(l).RootElement).SingleOrDefault(e => e.GetProperty("name").GetString() == $"{instance}._peerpatch._udp.local.");
        Assert.True(found.ValueKind == JsonValueKind.Object, "python3-zeroconf did not list our instance:\n" + string.Join('\n', lines));
        Assert.True(found.GetProperty("resolved").GetBoolean());
        Assert.Equal(47470, found.GetProperty("port").GetInt32());
        Assert.Equal("pp-test.local.", found.GetProperty("server").GetString());
        Assert.Contains("127.0.0.1", found.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        var seen = found.GetProperty("txt");
        foreach (var (key, value) in txt)
        {
            Assert.Equal(value, seen.GetProperty(key).GetString() ?? string.Empty);
        }

        output.WriteLine($"python3-zeroconf resolved {found}; packets sent {transport.PacketsSent}, received {transport.PacketsReceived}, malformed {transport.Malformed}");
    }

    [Fact]
    public Task PythonZeroconfAdvert_IsResolvedByOurBrowser() => ResolveThenSeeTheGoodbyeAsync(queryAsItStops: false, stallBeforeClose: 0);

    /// <summary>
    /// python3-zeroconf still multicasts the answers it queued before an unregistration (RFC 6762 §6 delays: up to
    /// about 1.1 s for records it multicast within the last second), until it closes. On a loaded machine its close can
    /// come late: an answer (PTR TTL 4500) then follows its goodbye and, as §10.1 says a cache must, our browser keeps
    /// the instance. The advertiser must end on a goodbye. Here a query of ours just before it stops queues an answer,
    /// and the stall shim (tools/mdns/stall) holds its close back 1.5 s, as a loaded machine may.
    /// </summary>
    [Fact]
    public Task PythonZeroconfGoodbye_RemovesItsInstance_WhenAnAnswerWasQueuedAndItsCloseComesLate() =>
        ResolveThenSeeTheGoodbyeAsync(queryAsItStops: true, stallBeforeClose: 1.5);

    private async Task ResolveThenSeeTheGoodbyeAsync(bool queryAsItStops, double stallBeforeClose)
    {
        await using var transport = new MdnsTransport(Options, TimeProvider.System, NullLogger<MdnsTransport>.Instance);
        transport.Start();
        var instance = "Zeroconf Peer " + Guid.NewGuid().ToString("N")[..6];
        var env = stallBeforeClose > 0
            ? new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(Tools, "stall"), ["ZEROCONF_STALL_BEFORE_CLOSE"] = stallBeforeClose.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : [];
        using var advertiser = StartPython("zeroconf-advertise.py", env, "_peerpatch._udp.local.", instance, "47999", "127.0.0.1", "v=1", "id=nzc", "role=client");
        try
        {
            await BrowseTheAdvertiserAsync(advertiser, instance, transport, queryAsItStops);
        }
        finally
        {
            ChildProcess.Kill(advertiser); // a failed test must not leave python3 advertising until the test host ends
        }
    }

    private async Task BrowseTheAdvertiserAsync(Process advertiser, string instance, MdnsTransport transport, bool queryAsItStops)
    {
        // python3-zeroconf has no timeouts of its own (tools/mdns/zeroconf-advertise.py): its probing, and its close
        // after the goodbyes (about 2 s, more with the stall shim), are bounded here.
        Assert.Equal("registered", await ChildProcess.ReadLineWithinAsync(advertiser, Bound, "zeroconf-advertise.py registering"));

        var browser = new MdnsBrowser(transport, Service, TimeProvider.System, new SystemRandomSource(), NullLogger<MdnsBrowser>.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var browsing = browser.RunAsync(cts.Token);
        var started = Stopwatch.StartNew();
        DiscoveredService? found = null;
        while (found is null && !cts.IsCancellationRequested)
        {
            found = browser.Services.FirstOrDefault(s => s.Instance == instance && s.Resolved && s.Txt.Count > 0);
            await Task.Delay(20);
        }

        var took = started.Elapsed;
        if (queryAsItStops)
        {
            await transport.SendMulticastAsync(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)));
        }

        advertiser.StandardInput.Close();
        await ChildProcess.ExitWithinAsync(advertiser, Bound, "zeroconf-advertise.py after its stdin closed");

        Assert.NotNull(found);
        Assert.Equal(47999, found.Port);
        Assert.Equal("nzc", found.Txt["id"]);
        Assert.Contains(System.Net.IPAddress.Loopback, found.Addresses);
        output.WriteLine($"resolved {instance} in {took.TotalMilliseconds:0} ms");

        // The goodbye removes it from the cache (within its one-second grace).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (browser.Services.Any(s => s.Instance == instance) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.DoesNotContain(browser.Services, s => s.Instance == instance);
        await cts.CancelAsync();
        await browsing.WaitAsync(Bound);
    }

    [Fact]
    public async Task GarbageIsDroppedAndCounted_AndALegacyQueryFromAnEphemeralPortGetsAUnicastAnswer()
    {
        await using var transport = new MdnsTransport(Options, TimeProvider.System, NullLogger<MdnsTransport>.Instance);
        transport.Start();
        var responder = new MdnsResponder(transport, Options, TimeProvider.System, new SystemRandomSource(), NullLogger<MdnsResponder>.Instance);
        var instance = "Legacy Test " + Guid.NewGuid().ToString("N")[..6];
        await responder.StartAsync(new ServiceAdvert(instance, Service, DnsName.Parse("pp-legacy.local"), 47470, new Dictionary<string, string> { ["id"] = "n7" }), CancellationToken.None);
        using var client = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0)); // not port 5353: a one-shot (legacy) querier
        client.Client.SetSocketOption(System.Net.Sockets.SocketOptionLevel.IP, System.Net.Sockets.SocketOptionName.MulticastInterface, IPAddress.Loopback.GetAddressBytes());
        var group = new IPEndPoint(IPAddress.Parse("224.0.0.251"), MdnsLimits.Port);
        var malformedBefore = transport.Malformed;

        await client.SendAsync(new byte[] { 0xde, 0xad, 0xbe, 0xef, 0xC0 }, group);
        var query = new DnsMessage(0x4242, false, false, [new DnsQuestion(DnsName.Instance(instance, Service), DnsType.Srv)], [], [], []);
        await client.SendAsync(DnsCodec.Encode(query), group);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        DnsMessage? reply = null;
        while (reply is null)
        {
            var received = await client.ReceiveAsync(timeout.Token);
            if (DnsCodec.TryDecode(received.Buffer, out var m, out _) && m!.IsResponse)
            {
                reply = m;
            }
        }

        await responder.StopAsync();
        Assert.Equal(0x4242, reply.Id);
        Assert.Equal(query.Questions, reply.Questions);
        var srv = Assert.IsType<SrvRecord>(Assert.Single(reply.Answers));
        Assert.Equal(47470, srv.Port);
        Assert.All(reply.AllRecords, r => Assert.True(r.Ttl <= 10));
        Assert.True(transport.Malformed > malformedBefore, "the garbage datagram was not counted");
    }

    private static Process StartPython(string script, params string[] args) => StartPython(script, new Dictionary<string, string>(), args);

    private static Process StartPython(string script, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var (key, value) in env)
        {
            psi.Environment[key] = value;
        }

        psi.ArgumentList.Add(Path.Combine(Tools, script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    private static async Task<List<string>> RunPythonAsync(string script, params string[] args)
    {
        using var process = StartPython(script, args);
        process.StandardInput.Close();
        var text = process.StandardOutput.ReadToEndAsync();
        await ChildProcess.ExitWithinAsync(process, Bound, script); // it browses for 3 s
        var lines = await text.WaitAsync(Bound);
        Assert.True(process.ExitCode == 0, $"{script} exited {process.ExitCode}");
        return lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
