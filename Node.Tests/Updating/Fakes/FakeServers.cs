using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>The cluster's choice of server, set by the test; waiting for one (an election) runs on the fake clock.</summary>
internal sealed class FakeServers(TimeProvider time) : IServerChannelProvider
{
    public IServerChannel? Current { get; set; }

    public event Action<IServerChannel>? SessionOpened { add { } remove { } } // the pipeline never listens; InventoryReporterTests has its own

    public async Task<IServerChannel?> WaitForServerAsync(TimeSpan max, CancellationToken ct)
    {
        if (Current is { } now)
        {
            return now;
        }

        await Task.Delay(max, time, ct);
        return Current;
    }
}
