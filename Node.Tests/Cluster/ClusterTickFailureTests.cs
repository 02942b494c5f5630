using Microsoft.Data.Sqlite;
using PeerPatch.Node.Cluster;
using PeerPatch.Protocol.Messages;
using PeerPatch.Storage;
using PeerPatch.Node.Tests.Updating.Fakes;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// <see cref="ClusterService"/>'s election tick survives a failing dependency (real services on loopback, fake time:
/// <see cref="ClusterServiceLan"/>). nb (priority 100) is the server, na (50) and nc (0) follow it; then nb's host freezes
/// (its LAN transport stops: no heartbeat, no proof, but its advert stays). na takes over, and the tick in which it does
/// fails once: either a subscriber of the new view throws (as a component reacting to it might, on a full disk), or
/// writing the new term to na's SQLite database fails (a trigger raises, as a full disk would). On an open LAN the
/// takeover happens in the elector step of the tick (the catch around the whole tick); on a keyed LAN an advertised node
/// that never proves the key (nd: its transport holds another key) keeps the tick's member step running, and the takeover
/// happens inside it (UpdateMembers: the member update ticks the elector), so the catch around the member step takes it.
/// Either way the node must log event 704 (TickFailed), keep ticking, take over, and keep heartbeating.
/// </summary>
[Trait("Category", "Network")]
public sealed class ClusterTickFailureTests(ITestOutputHelper output)
{
    public enum Failure
    {
        /// <summary>A subscriber of <see cref="ClusterState.Changed"/> throws at the first server view.</summary>
        ViewSubscriber,

        /// <summary>Writing the term to the database fails until the test frees the "disk" (after the first failure).</summary>
        TermWrite,
    }

    [Theory]
    [InlineData(false, Failure.ViewSubscriber)]
    [InlineData(false, Failure.TermWrite)]
    [InlineData(true, Failure.ViewSubscriber)]
    [InlineData(true, Failure.TermWrite)]
    public async Task WhenTheTickThatTakesOverFailsOnce_TheNodeStillTakesOver_AndKeepsHeartbeating(bool keyed, Failure failure)
    {
        await using var lan = new ClusterServiceLan(keyed);
        var (a, b, c) = await ConvergeAsync(lan);

        var failures = 0;
        var diskFull = false;
        if (failure == Failure.ViewSubscriber)
        {
            a.State.Changed += view =>
            {
                if (view.Role == NodeRole.Server && Interlocked.Increment(ref failures) == 1)
                {
                    throw new IOException("No space left on device");
                }
            };
        }
        else
        {
            FailTermWrites(a.Db, true);
            diskFull = true;
        }

        await b.Transport.StopAsync(CancellationToken.None); // nb's host freezes
        var frozenAt = lan.Time.GetUtcNow();
        var tookOver = await lan.RunUntilAsync(TimeSpan.FromSeconds(6), () =>
        {
            if (diskFull && a.Exceptions(704).Any())
            {
                FailTermWrites(a.Db, false); // it failed once: the disk has room again
                diskFull = false;
            }

            return a.State.IsServer && c.Follows("na");
        });
        var took = lan.Time.GetUtcNow() - frozenAt;

        var failed = a.Exceptions(704).ToList();
        output.WriteLine($"{(keyed ? "keyed" : "open")} LAN, {failure}: {(tookOver ? $"na took over, nc followed it {took.TotalSeconds:0.00} s after nb froze" : "no takeover")}; {lan.Describe()}; "
                         + $"event 704: {string.Join(" | ", failed.Select(e => e.GetType().Name + ": " + e.Message))}");
        Assert.NotEmpty(failed); // the failure reached the tick's catch (not discovery's or the transport's thread)
        Assert.All(failed, e => Assert.IsType(failure == Failure.ViewSubscriber ? typeof(IOException) : typeof(SqliteException), e));
        Assert.Equal(keyed, failed[0].StackTrace?.Contains("UpdateMembers", StringComparison.Ordinal) == true); // in the member step (keyed) or the elector step (open)
        Assert.True(tookOver, $"na did not take over within 6 s of nb freezing: {lan.Describe()}\n{a.LogText()}");
        Assert.True(took <= TimeSpan.FromSeconds(3), $"takeover took {took.TotalSeconds:0.00} s");

        var term = a.State.Current.Term;
        await lan.RunAsync(TimeSpan.FromSeconds(3)); // 2.5 times the heartbeat timeout: only na's heartbeats keep nc with it
        Assert.True(a.State.IsServer && c.Follows("na") && c.State.Current.Term == term, $"nc left na: {lan.Describe()}");
        Assert.False(a.Service.ExecuteTask!.IsCompleted, $"na's cluster service ended: {a.Service.ExecuteTask.Exception}");
        Assert.Equal(term.ToString(System.Globalization.CultureInfo.InvariantCulture), a.Db.GetMeta("term"));
    }

    /// <summary>
    /// Keyed LAN: the member step of the tick in which na takes over fails (a subscriber of the new view throws), and the
    /// clock stops right there. The catch around the member step lets the same tick go on: the elector step, then the
    /// heartbeat to nc, which arrives while the clock still stands (no later tick can have sent it). Without that catch,
    /// the whole-tick catch would take the exception and this tick's heartbeat would wait for the next tick.
    /// </summary>
    [Fact]
    public async Task OnAKeyedLan_WhenTheMemberStepFailsAsTheNodeTakesOver_ThatSameTickStillHeartbeats()
    {
        await using var lan = new ClusterServiceLan(keyed: true);
        var (a, b, c) = await ConvergeAsync(lan);
        var failed = 0;
        a.State.Changed += view =>
        {
            if (view.Role == NodeRole.Server && Interlocked.Exchange(ref failed, 1) == 0)
            {
                throw new IOException("No space left on device");
            }
        };
        var beats = 0;
        c.Transport.HeartbeatReceived += (beat, _) =>
        {
            if (beat.ServerId == "na")
            {
                Interlocked.Increment(ref beats);
            }
        };

        await b.Transport.StopAsync(CancellationToken.None); // nb's host freezes
        Assert.True(await lan.RunUntilAsync(TimeSpan.FromSeconds(6), () => Volatile.Read(ref failed) == 1), $"na never took over: {lan.Describe()}");
        var stoppedAt = lan.Time.GetUtcNow();

        await Eventually.TrueAsync(() => Volatile.Read(ref beats) > 0, "a heartbeat from na in the tick whose member step failed");
        Assert.Equal(stoppedAt, lan.Time.GetUtcNow());
        var e = Assert.Single(a.Exceptions(704));
        Assert.IsType<IOException>(e);
        Assert.Contains("UpdateMembers", e.StackTrace, StringComparison.Ordinal);
        output.WriteLine($"the clock stood at +{(stoppedAt - lan.Time.Start).TotalSeconds:0.00} s; nc had {beats} heartbeat(s) from na; {lan.Describe()}");
    }

    /// <summary>nb (priority 100) serves, na (50) and nc (0) follow it; on a keyed LAN nd (0) is advertised but never proven.</summary>
    private static async Task<(ClusterServiceLan.RigNode A, ClusterServiceLan.RigNode B, ClusterServiceLan.RigNode C)> ConvergeAsync(ClusterServiceLan lan)
    {
        var b = await lan.StartAsync("nb", 100);
        var a = await lan.StartAsync("na", 50);
        var c = await lan.StartAsync("nc", 0);
        if (lan.Keyed)
        {
            await lan.StartAsync("nd", 0, provesKey: false); // advertised, never proven: na's tick runs its member step every time
        }

        Assert.True(await lan.RunUntilAsync(TimeSpan.FromSeconds(15), () => b.State.IsServer && a.Follows("nb") && c.Follows("nb")), lan.Describe());
        await lan.RunAsync(TimeSpan.FromSeconds(2)); // discovery settles: no advert changes around the takeover
        Assert.True(b.State.IsServer && a.Follows("nb") && c.Follows("nb"), lan.Describe());
        return (a, b, c);
    }

    /// <summary>Makes every write of the term to <paramref name="db"/> fail (a trigger raises), or lets them through again.</summary>
    private static void FailTermWrites(PatchDatabase db, bool fail)
    {
        using var connection = new SqliteConnection($"Data Source={db.Path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = fail
            ? """
              CREATE TRIGGER full_disk_insert BEFORE INSERT ON meta WHEN NEW.key = 'term' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
              CREATE TRIGGER full_disk_update BEFORE UPDATE ON meta WHEN NEW.key = 'term' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
              """
            : "DROP TRIGGER full_disk_insert; DROP TRIGGER full_disk_update;";
        command.ExecuteNonQuery();
    }
}
