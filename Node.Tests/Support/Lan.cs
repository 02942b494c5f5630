using System.Text.Json;

namespace PeerPatch.Node.Tests.Support;

/// <summary>A server node, client nodes pointed at it, and the fake internet with a feed: one LAN on loopback.</summary>
internal sealed class Lan : IAsyncDisposable
{
    public const string Os = "test-1-amd64";
    private readonly TempDir _dir = new();
    private Lan(FakeInternet internet) => Internet = internet;

    public FakeInternet Internet { get; }

    public NodeProcess Server { get; private set; } = null!;

    public List<NodeProcess> Clients { get; } = [];

    public IReadOnlyList<(string Patch, GeneratedContent Content)> Patches { get; private set; } = [];

    public string Root => _dir.Path;

    public static async Task<Lan> StartAsync(IReadOnlyList<long> sizes, int clients)
    {
        var lan = new Lan(await FakeInternet.StartAsync());
        var patches = new List<(string, GeneratedContent)>();
        for (var i = 0; i < sizes.Count; i++)
        {
            patches.Add(($"KB{5031000 + i}", lan.Internet.AddFile($"f{i}.bin", sizes[i], seed: 1000 + i)));
        }

        lan.Patches = patches;
        lan.Internet.SetFeed(Os, patches.Select((p, i) => (p.Item1, $"f{i}.bin")));
        try
        {
            lan.Server = await NodeProcess.StartAsync("server", lan._dir.Sub("server"), "--role", "server");
            var starting = Enumerable.Range(1, clients).Select(i => NodeProcess.StartAsync(
                $"client{i}", lan._dir.Sub($"client{i}"), "--server", lan.Server.ServerAddress, "--source", "manifest:" + lan.Internet.FeedUrlTemplate)).ToList();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                lan.Clients.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }

            return lan;
        }
        catch
        {
            await lan.DisposeAsync(); // the nodes that did start must not outlive the test
            throw;
        }
    }

    public long UniqueBytes => Patches.Sum(p => p.Content.Size);

    /// <summary>Lines "sha256 name" that each patch's apply command wrote on that node.</summary>
    public static IReadOnlyList<string> AppliedLog(NodeProcess node)
    {
        var path = Path.Combine(node.DataDir, "work", "applied.log");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    /// <summary>Every line of a node's applied.log is a feed patch whose applied file hashed to the feed's SHA-256, each patch once.</summary>
    public void AssertAppliedExactlyTheFeed(NodeProcess node)
    {
        var expected = Patches.Select(p => $"{p.Content.Sha256} {p.Patch}").Order().ToList();
        Assert.Equal(expected, AppliedLog(node).Order().ToList());
    }

    public void AssertAllPatchesApplied(CliResult result, NodeProcess node)
    {
        Assert.True(result.ExitCode == 0, $"{node.Name}: update exited {result.ExitCode}\n{result.Stderr}\n{result.Stdout}\n{node.Output}");
        var outcomes = result.Outcomes;
        Assert.Equal(Patches.Count, outcomes.Count);
        foreach (var outcome in outcomes)
        {
            Assert.True(outcome.GetProperty("applied").GetBoolean(), outcome.ToString());
            Assert.Equal(JsonValueKind.Null, outcome.GetProperty("error").ValueKind);
            var patch = Patches.Single(p => p.Patch == outcome.GetProperty("patch").GetString());
            Assert.Equal(patch.Content.Sha256, outcome.GetProperty("sha256").GetString());
        }

        Assert.Equal(Patches.Count, result.Summary.GetProperty("applied").GetInt32());
        Assert.Equal(0, result.Summary.GetProperty("failed").GetInt32());
        AssertAppliedExactlyTheFeed(node);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Clients.Append(Server).Where(n => n is not null))
        {
            await node.DisposeAsync();
        }

        await Internet.DisposeAsync();
        _dir.Dispose();
    }
}
