using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>The cluster's choice of server, set by the test; waiting for one (an election) runs on the fake clock.</summary>
internal sealed class FakeServers(TimeProvider time) : IServerChannelProvider
{
    private IServerChannel? _current;

    /// <summary>Setting it is an election: <see cref="ServerMayHaveChanged"/> is raised.</summary>
    public IServerChannel? Current
    {
        get => _current;
        set
        {
            _current = value;
            ServerMayHaveChanged?.Invoke();
        }
    }

    public event Action<IServerChannel>? SessionOpened;

    public event Action? ServerMayHaveChanged;

    /// <summary>As a channel does when it opens a new session with its server (a reconnect: maybe a restarted server).</summary>
    public void OpenSession(IServerChannel channel) => SessionOpened?.Invoke(channel);

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
