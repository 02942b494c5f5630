using System.Net;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Discovery;
using PeerPatch.Node.Tests.Updating.Fakes;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Discovery;

/// <summary>
/// Our responder driven by a fake transport and a fake clock: what leaves it around a stop (RFC 6762 §10.1: the
/// goodbye must be the last word, or a TTL&gt;0 record in its one-second grace keeps us in every cache) and around a
/// TXT change (a delayed answer carries the data of when it is sent).
/// </summary>
public sealed class MdnsResponderTests
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private static readonly IPEndPoint Browser = new(IPAddress.Parse("10.0.0.2"), 5353);

    [Fact]
    public async Task APtrQueryJustBeforeStop_IsNotAnsweredAfterTheGoodbye()
    {
        var rig = await Rig.StartedAsync();

        // The control: a PTR query is answered 20-120 ms later (70 ms with this random source).
        var control = rig.Lan.Sent.Count;
        rig.Lan.Deliver(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)), Browser);
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));
        Assert.Contains(rig.Lan.Sent.Skip(control), p => p.IsLive && p.Message.Answers.Any(a => a is PtrRecord));
        await rig.RunAsync(TimeSpan.FromSeconds(1.2)); // past that answer's second (§6)

        // The same query, and the node stops before the delay ends.
        var mark = rig.Lan.Sent.Count;
        rig.Lan.Deliver(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)), Browser);
        await rig.Responder.StopAsync();
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));

        AssertGoodbyeIsLast(rig.Lan.Sent.Skip(mark).ToList());
    }

    [Fact]
    public async Task ATruncatedQueryWhoseWaitEndsDuringTheGoodbye_IsNotAnsweredAfterIt()
    {
        var rig = await Rig.StartedAsync();
        await rig.RunAsync(TimeSpan.FromSeconds(1.2));
        var mark = rig.Lan.Sent.Count;
        rig.Lan.Deliver(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)) with { Truncated = true }, Browser);
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));

        // The goodbye is still being sent (several interfaces, IPv4 and IPv6) when the 400-500 ms wait ends.
        rig.Lan.HoldSends = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = rig.Responder.StopAsync();
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));
        rig.Lan.HoldSends.SetResult();
        rig.Lan.HoldSends = null;
        await stopping.WaitAsync(Rig.Bound); // a stop waits on nothing but the sends released here
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));

        AssertGoodbyeIsLast(rig.Lan.Sent.Skip(mark).ToList());
    }

    [Fact]
    public async Task ATxtChangeDuringTheGoodbye_IsNotAnnouncedAfterIt()
    {
        var rig = await Rig.StartedAsync();
        await rig.RunAsync(TimeSpan.FromSeconds(1.2));
        var mark = rig.Lan.Sent.Count;

        // The election changes the TXT while the goodbye is being sent.
        rig.Lan.HoldSends = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = rig.Responder.StopAsync();
        var updating = rig.Responder.UpdateTxtAsync(Txt("server", "4"), CancellationToken.None);
        await rig.RunAsync(TimeSpan.FromMilliseconds(50));
        rig.Lan.HoldSends.SetResult();
        rig.Lan.HoldSends = null;
        await stopping.WaitAsync(Rig.Bound);
        await rig.RunAsync(TimeSpan.FromSeconds(1.5));
        await rig.EndAsync(updating, "the TXT change");

        AssertGoodbyeIsLast(rig.Lan.Sent.Skip(mark).ToList());
        Assert.Null(rig.Responder.Current);
    }

    [Fact]
    public async Task APtrAnswerDelayedAcrossATxtChange_CarriesTheNewTxt()
    {
        var rig = await Rig.StartedAsync();
        await rig.RunAsync(TimeSpan.FromSeconds(1.2));
        var mark = rig.Lan.Sent.Count;

        // A query arrives, then the election changes the TXT before the 20-120 ms delay ends.
        rig.Lan.Deliver(DnsMessage.Query(new DnsQuestion(Service, DnsType.Ptr)), Browser);
        var updating = rig.Responder.UpdateTxtAsync(Txt("server", "4"), CancellationToken.None);
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));

        var sent = rig.Lan.Sent.Skip(mark).ToList();
        Assert.Contains(sent, p => p.IsLive && p.Message.Answers.Any(a => a is PtrRecord)); // it was answered
        var txts = sent.SelectMany(p => p.Message.AllRecords).OfType<TxtRecord>().Where(t => t.Ttl > 0).ToList();
        Assert.NotEmpty(txts);
        Assert.All(txts, t => Assert.True(t.Pairs()["role"] == "server", $"a TXT with role={t.Pairs()["role"]} sent after the change to role=server"));
        await rig.RunAsync(TimeSpan.FromSeconds(1.2));
        await rig.EndAsync(updating, "the TXT change's announcements");
    }

    [Fact]
    public async Task ANodeStoppedWhileProbing_SaysNoGoodbye_ForANameItNeverAnnounced()
    {
        var rig = Rig.Create();
        using var cancel = new CancellationTokenSource();
        var starting = rig.Responder.StartAsync(rig.Ours, cancel.Token);
        Assert.True(await rig.RunUntilAsync(TimeSpan.FromSeconds(1), () => rig.Lan.Sent.Any(p => !p.Message.IsResponse)), "no probe was sent");

        // Stopped mid-probe (a cancelled start, a shutdown). The name may belong to another host that won it: a goodbye
        // for its PTR (the same name and data as ours) would remove that host from every cache on the LAN.
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting.WaitAsync(Rig.Bound));
        await rig.Responder.StopAsync().WaitAsync(Rig.Bound);
        await rig.RunAsync(TimeSpan.FromMilliseconds(300));

        Assert.DoesNotContain(rig.Lan.Sent, p => p.Message.IsResponse); // probes only: no announcement, so no goodbye
    }

    private static void AssertGoodbyeIsLast(List<SentPacket> sent)
    {
        var goodbye = sent.FindIndex(p => p.IsGoodbye);
        Assert.True(goodbye >= 0, "no goodbye was sent");
        var late = sent.Skip(goodbye + 1).Where(p => p.IsLive).ToList();
        Assert.True(
            late.Count == 0,
            $"{late.Count} packet(s) with TTL>0 after the goodbye: {string.Join("; ", late.Select(p => string.Join(",", p.Message.Answers.Select(a => $"{a.Type} {a.Name} ttl {a.Ttl}"))))}");
    }

    internal static IReadOnlyDictionary<string, string> Txt(string role, string term) =>
        new Dictionary<string, string> { ["v"] = "1", ["id"] = "nafe0adf49f15eccc", ["role"] = role, ["term"] = term, ["http"] = "47471", ["prio"] = "100", ["since"] = "1764600000000", ["cluster"] = "" };

    /// <summary>A responder on <see cref="FakeMdnsTransport"/> with a fake clock, and the helpers that move the clock.</summary>
    internal sealed class Rig
    {
        private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

        /// <summary>Real time for a wait on the responder to end: far more than it takes, even on a loaded machine.</summary>
        public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

        private Rig()
        {
            Responder = new MdnsResponder(Lan, new MdnsOptions(), Time, new FixedRandom(), Logs);
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

        public FakeMdnsTransport Lan { get; } = new();

        public FakeLogger<MdnsResponder> Logs { get; } = new();

        public MdnsResponder Responder { get; }

        public ServiceAdvert Ours { get; } = new("peerpatch-nafe0adf49f15eccc", Service, DnsName.Parse("pp-nafe0adf49f15eccc.local"), 47470, Txt("client", "3"));

        /// <summary>A responder not started yet.</summary>
        public static Rig Create() => new();

        /// <summary>A responder that has probed and announced (about 1.9 s of the fake clock).</summary>
        public static async Task<Rig> StartedAsync()
        {
            var rig = new Rig();
            var starting = rig.Responder.StartAsync(rig.Ours, CancellationToken.None);
            Assert.True(await rig.RunUntilAsync(TimeSpan.FromSeconds(3), () => starting.IsCompleted), "the responder did not finish probing and announcing");
            await starting;
            return rig;
        }

        /// <summary>Moves the clock in 10 ms steps, with real time after each for the continuations (pacing, not an assertion).</summary>
        public async Task<bool> RunUntilAsync(TimeSpan limit, Func<bool> done)
        {
            for (var elapsed = TimeSpan.Zero; ; elapsed += Step)
            {
                if (done())
                {
                    return true;
                }

                if (elapsed >= limit)
                {
                    return false;
                }

                Time.Advance(Step);
                await Task.Delay(2);
            }
        }

        public Task RunAsync(TimeSpan duration) => RunUntilAsync(duration, () => false);

        /// <summary>
        /// Moves the clock on until <paramref name="task"/> ends, failing after <see cref="Bound"/> of real time. A TXT
        /// change announces twice, a second apart on this clock: its second timer may be made only after a fixed
        /// <see cref="RunAsync"/> ended (a continuation late on a loaded machine), and a bare await would then wait for ever.
        /// </summary>
        public async Task EndAsync(Task task, string what)
        {
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); !task.IsCompleted; await Task.Delay(2))
            {
                Assert.True(waited.Elapsed < Bound, $"{what} did not end within {Bound.TotalSeconds:0} s (the clock at {Time.GetUtcNow():HH:mm:ss.fff})");
                Time.Advance(Step);
            }

            await task;
        }
    }
}
