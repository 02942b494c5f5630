using System.Net;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// One LAN for the admin-tool tests: four zero-config nodes in network namespaces, a feed of three patches on the
/// fake internet, and three clients that updated one after another (the first from the internet, pushing each patch
/// to the server; the next two from the LAN). Built once for the class, only where namespaces can be made.
/// </summary>
public sealed class AdminLanFixture : IAsyncLifetime
{
    public const string Os = "test-1-amd64";

    internal NetnsLan Lan { get; private set; } = null!;

    internal FakeInternet Internet { get; private set; } = null!;

    internal string ServerId { get; private set; } = "";

    internal NodeProcess Server { get; private set; } = null!;

    internal IReadOnlyList<NodeProcess> Clients { get; private set; } = [];

    internal long UniqueBytes { get; private set; }

    public async Task InitializeAsync()
    {
        if (!NetnsLan.CanRun)
        {
            return; // every test of the class is a RootFact: skipped with its reason
        }

        Lan = await NetnsLan.CreateAsync(4);
        Internet = await FakeInternet.StartAsync(IPAddress.Parse(Lan.TestAddress));
        long[] sizes = [200_000, 1_000_000, 3_000_000];
        for (var i = 0; i < sizes.Length; i++)
        {
            Internet.AddFile($"p{i}.bin", sizes[i], 40 + i);
        }

        UniqueBytes = sizes.Sum();
        Internet.SetFeed(Os, sizes.Select((_, i) => ($"KB-ADM{i}", $"p{i}.bin")));
        await Task.WhenAll(Enumerable.Range(1, 4).Select(k => Lan.StartNodeAsync(k, "--os-version", Os, "--update-interval", "0", "--source", "manifest:" + Internet.FeedUrlTemplate)));
        ServerId = await ClusterWait.OneServerAsync(Lan.Nodes, TimeSpan.FromSeconds(15));
        Server = await ClusterWait.NodeWithIdAsync(Lan.Nodes, ServerId);
        Clients = Lan.Nodes.Where(n => n != Server).ToList();
        foreach (var client in Clients)
        {
            var result = await client.UpdateAsync();
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"{client.Name}: update exited {result.ExitCode}: {result.Stdout}{result.Stderr}\n{client.Output}");
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (Lan is not null)
        {
            await Lan.DisposeAsync();
        }

        if (Internet is not null)
        {
            await Internet.DisposeAsync();
        }
    }
}
