using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.ServerLink;

/// <summary>Follows <see cref="ClusterState"/>: this node's own server, a remote one (one channel per address), or none.</summary>
internal sealed class ServerChannelProvider : IServerChannelProvider
{
    private readonly object _lock = new();
    private readonly ClusterState _cluster;
    private readonly LocalServerChannel _local;
    private readonly RemoteServerChannelFactory _remotes;
    private RemoteServerChannel? _remote;
    private string? _remoteAddress;

    public ServerChannelProvider(ClusterState cluster, LocalServerChannel local, RemoteServerChannelFactory remotes)
    {
        (_cluster, _local, _remotes) = (cluster, local, remotes);
        cluster.Changed += _ => ServerMayHaveChanged?.Invoke(); // a singleton: lives as long as the cluster state
    }

    public event Action<IServerChannel>? SessionOpened;

    public event Action? ServerMayHaveChanged;

    public IServerChannel? Current
    {
        get
        {
            var view = _cluster.Current;
            if (view.Role == Protocol.Messages.NodeRole.Server)
            {
                return _local;
            }

            if (!HostPort.TryParse(view.ServerAddress, out var host, out var port))
            {
                return null;
            }

            lock (_lock)
            {
                if (_remoteAddress != view.ServerAddress)
                {
                    _remote = _remotes.Create(host, port, channel => SessionOpened?.Invoke(channel));
                    _remoteAddress = view.ServerAddress;
                }

                return _remote;
            }
        }
    }

    public async Task<IServerChannel?> WaitForServerAsync(TimeSpan max, CancellationToken ct)
    {
        if (Current is { } now)
        {
            return now;
        }

        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ClusterView _) => changed.TrySetResult();
        _cluster.Changed += OnChanged;
        try
        {
            if (Current is { } raced)
            {
                return raced;
            }

            await changed.Task.WaitAsync(max, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // no server came
        }
        finally
        {
            _cluster.Changed -= OnChanged;
        }

        return Current;
    }
}
