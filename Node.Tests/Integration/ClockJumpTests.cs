using PeerPatch.Node.Serving;
using PeerPatch.Node.Cluster;
using System.Diagnostics;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 5: the wall clock of a node is set an hour forward or back while it works (a node in this process, on a
/// <see cref="JumpyTimeProvider"/>; the other nodes are real processes). Download claims neither expire at the jump nor
/// outlive their lease, and elections neither fire at the jump nor stop noticing a dead server.
/// </summary>
public static class ClockJumpTests
{
    private const long Size = 6_000_000;

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan limit, string failure)
    {
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < limit; await Task.Delay(50))
        {
            if (await condition())
            {
                return;
            }
        }

        Assert.Fail(failure);
    }

    /// <summary>An in-process server (3 s claim leases) on a jumpy clock, two client processes, one slow 6 MB patch.</summary>
    private sealed class LeaseSetup : IAsyncDisposable
    {
        private readonly TempDir _dir = new();

        public JumpyTimeProvider Clock { get; } = new();

        public FakeInternet Internet { get; private set; } = null!;

        public InProcessNode Server { get; private set; } = null!;

        public NodeProcess A { get; private set; } = null!;

        public NodeProcess B { get; private set; } = null!;

        public static async Task<LeaseSetup> StartAsync()
        {
            var setup = new LeaseSetup { Internet = await FakeInternet.StartAsync() };
            setup.Internet.AddFile("big.bin", Size, seed: 42);
            setup.Internet.SetFeed(Lan.Os, [("KB-BIG", "big.bin")]);
            setup.Server = await InProcessNode.StartAsync(setup._dir.Sub("server"), setup.Clock, new Dictionary<string, string?>
            {
                [nameof(ClusterOptions.Role)] = "server",
                [nameof(ServingOptions.ClaimLease)] = "00:00:03",
                [nameof(ClusterOptions.Discovery)] = "false",
            });
            string[] client = ["--server", setup.Server.ServerAddress, "--source", "manifest:" + setup.Internet.FeedUrlTemplate];
            setup.A = await NodeProcess.StartAsync("a", setup._dir.Sub("a"), client);
            setup.B = await NodeProcess.StartAsync("b", setup._dir.Sub("b"), client);
            return setup;
        }

        public async Task WaitForClaimAsync()
        {
            await WaitAsync(async () => (await Server.StatusAsync()).GetProperty("activeClaims").GetInt32() == 1 && Internet.BytesServed("big.bin") > 0, TimeSpan.FromSeconds(15), "no claim");
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await Server.DisposeAsync();
            await Internet.DisposeAsync();
            _dir.Dispose();
        }
    }

    [Trait("Category", "Network")]
    public sealed class Leases(ITestOutputHelper output)
    {
        [Fact]
        public async Task ServerClockJumpingAnHourForward_DoesNotExpireAClaimInProgress_SoThePatchIsDownloadedOnce()
        {
            await using var setup = await LeaseSetup.StartAsync();
            setup.Internet.RateLimit = 1_000_000; // the claim holder's download takes ~6 s
            var holding = setup.A.UpdateAsync();
            await setup.WaitForClaimAsync();

            setup.Clock.Jump(TimeSpan.FromHours(1));
            var waiting = await setup.B.UpdateAsync();
            var held = await holding;

            Assert.True(held.ExitCode == 0, held.Stderr + held.Stdout);
            Assert.True(waiting.ExitCode == 0, waiting.Stderr + waiting.Stdout);
            Assert.Equal("internet", Assert.Single(held.Outcomes).GetProperty("from").GetString());
            Assert.Equal("lan", Assert.Single(waiting.Outcomes).GetProperty("from").GetString());
            Assert.Equal(1, setup.Internet.Requests("big.bin")); // a second claim would have meant a second download
            output.WriteLine($"server clock +1 h during the claim: upstream requests {setup.Internet.Requests("big.bin")}, second node from {waiting.Outcomes[0].GetProperty("from").GetString()}");
        }

        [Fact]
        public async Task ServerClockJumpingAnHourBack_DoesNotStretchADeadHoldersLease()
        {
            await using var setup = await LeaseSetup.StartAsync();
            setup.Internet.RateLimit = 500_000;
            var holding = setup.A.UpdateAsync();
            await setup.WaitForClaimAsync();
            await setup.A.KillAsync(); // the holder dies: its claim must lapse one lease (3 s) after its last renewal
            _ = await holding;
            setup.Internet.RateLimit = 0;

            setup.Clock.Jump(TimeSpan.FromHours(-1));
            var watch = Stopwatch.StartNew();
            var pass = setup.B.UpdateAsync();
            var finished = await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(60))) == pass;

            Assert.True(finished, "the second node still waits on the dead holder's claim after 60 s");
            var result = await pass;
            Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
            Assert.True(Assert.Single(result.Outcomes).GetProperty("applied").GetBoolean());
            Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
            output.WriteLine($"server clock -1 h after the holder died: the second node had the patch {watch.Elapsed.TotalSeconds:0.0} s later (lease 3 s)");
        }
    }

    [Trait("Category", "Network")]
    public sealed class Elections(ITestOutputHelper output)
    {
        [Fact]
        public async Task FollowerClockJumpingBothWays_CausesNoElection_AndItStillFailsOverWhenTheServerDies()
        {
            using var dir = new TempDir();
            await using var server = await NodeProcess.StartAsync("s", dir.Sub("s"), "--priority", "100");
            await using var other = await NodeProcess.StartAsync("c", dir.Sub("c"), "--priority", "50");
            var clock = new JumpyTimeProvider();
            await using var jumper = await InProcessNode.StartAsync(dir.Sub("x"), clock, new Dictionary<string, string?> { [nameof(ClusterOptions.Priority)] = "0" });
            var serverId = (await server.StatusAsync()).GetProperty("nodeId").GetString();
            var otherId = (await other.StatusAsync()).GetProperty("nodeId").GetString();
            await WaitAsync(async () => (await jumper.StatusAsync()).GetProperty("serverId").GetString() == serverId
                && (await other.StatusAsync()).GetProperty("serverId").GetString() == serverId, TimeSpan.FromSeconds(15), "the three nodes did not agree on s");
            var elections = (await jumper.StatusAsync()).GetProperty("elections").GetInt64();

            foreach (var jump in new[] { TimeSpan.FromHours(1), TimeSpan.FromHours(-2) })
            {
                clock.Jump(jump);
                await Task.Delay(TimeSpan.FromSeconds(3)); // more than twice the heartbeat timeout
                var status = await jumper.StatusAsync();
                Assert.Equal(serverId, status.GetProperty("serverId").GetString());
                Assert.Equal(elections, status.GetProperty("elections").GetInt64());
                Assert.Equal(serverId, (await other.StatusAsync()).GetProperty("serverId").GetString());
            }

            // An hour behind, it must still notice a dead server at once.
            await server.KillAsync();
            var killed = Stopwatch.StartNew();
            await WaitAsync(async () => (await jumper.StatusAsync()).GetProperty("serverId").GetString() == otherId
                && (await other.StatusAsync()).GetProperty("role").GetString() == "server", TimeSpan.FromSeconds(10), "no failover to c");
            output.WriteLine($"follower clock +1 h then -2 h: {elections} elections before, none added; after SIGKILL of the server it followed the new one in {killed.Elapsed.TotalSeconds:0.00} s");
            Assert.InRange(killed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        }

        [Fact]
        public async Task ServerClockJumpingBothWays_KeepsItsHeartbeatsGoing_SoNoNodeElectsAgain()
        {
            using var dir = new TempDir();
            var clock = new JumpyTimeProvider();
            await using var jumper = await InProcessNode.StartAsync(dir.Sub("x"), clock, new Dictionary<string, string?> { [nameof(ClusterOptions.Priority)] = "100" });
            await using var second = await NodeProcess.StartAsync("s2", dir.Sub("s2"), "--priority", "50");
            await using var third = await NodeProcess.StartAsync("s3", dir.Sub("s3"), "--priority", "0");
            var serverId = (await jumper.StatusAsync()).GetProperty("nodeId").GetString();
            NodeProcess[] others = [second, third];
            await WaitAsync(async () => (await Task.WhenAll(others.Select(o => o.StatusAsync()))).All(s => s.GetProperty("serverId").GetString() == serverId)
                && (await jumper.StatusAsync()).GetProperty("role").GetString() == "server", TimeSpan.FromSeconds(15), "the three nodes did not agree on x");
            var before = (await Task.WhenAll(others.Select(o => o.StatusAsync()))).Select(s => s.GetProperty("elections").GetInt64()).ToList();

            foreach (var jump in new[] { TimeSpan.FromHours(-1), TimeSpan.FromHours(2) })
            {
                clock.Jump(jump);
                for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(3); await Task.Delay(100))
                {
                    foreach (var s in await Task.WhenAll(others.Select(o => o.StatusAsync())))
                    {
                        Assert.Equal(serverId, s.GetProperty("serverId").GetString()); // a silent server would be replaced within 1.2 s
                    }
                }
            }

            var after = (await Task.WhenAll(others.Select(o => o.StatusAsync()))).Select(s => s.GetProperty("elections").GetInt64()).ToList();
            Assert.Equal(before, after);
            Assert.Equal("server", (await jumper.StatusAsync()).GetProperty("role").GetString());
            output.WriteLine($"server clock -1 h then +2 h: both followers kept it for 6 s, elections {string.Join("/", before)} before and {string.Join("/", after)} after");
        }
    }
}
