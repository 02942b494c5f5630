using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>A term saved by an earlier run is validated when the node starts (issue 19: an overflowed term survived restarts).</summary>
[Trait("Category", "Network")]
public sealed class StoredTermTests
{
    [Theory]
    [InlineData("9223372036854775807")] // the next election would overflow
    [InlineData("9223372036854775806")]
    [InlineData("281474976710657")] // TermGuard.Max + 1
    // Negative stored terms (what an overflow saved) are refused too (TermGuardTests); a lone node got over them before
    // at its first election (max(term, 0) + 1), so they cannot tell here whether the load is validated.
    public async Task AnInvalidStoredTerm_IsResetAtStart_AndTheNodeTakesPartWithASaneTerm(string stored)
    {
        using var dir = new TempDir();
        var data = dir.Sub("node");
        Directory.CreateDirectory(data);
        var db = Path.Combine(data, "peerpatch.db");
        PatchDatabase.Open(db).SetMeta("term", stored);

        await using (var node = await InProcessNode.StartAsync(data, TimeProvider.System, new Dictionary<string, string?> { [nameof(ClusterOptions.Priority)] = "0" }))
        {
            var term = 0L;
            for (var watch = System.Diagnostics.Stopwatch.StartNew(); term == 0 && watch.Elapsed < TimeSpan.FromSeconds(15); await Task.Delay(100))
            {
                term = (await node.StatusAsync()).GetProperty("term").GetInt64(); // elected (alone: term 1), or following a server
            }

            Assert.InRange(term, 1, TermGuard.Max);
        }

        Assert.True(TermGuard.TryParseStored(PatchDatabase.Open(db).GetMeta("term"), out var saved), "the stored term is still invalid");
        Assert.InRange(saved, 1, TermGuard.Max);
    }
}
