using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.ServerLink;

/// <summary>Follows <see cref="ClusterState"/>: this node's own server, a remote one (one channel per address), or none.</summary>
internal sealed class ServerChannelProvider : IServerChannelProvider
{
    private readonly ClusterState _cluster;
    private readonly IServiceProvider _services;
    private readonly LocalServerChannel _local;
    private readonly object _lock = new();
    private RemoteServerChannel? _remote;
    private string? _remoteAddress;

    public ServerChannelProvider(ClusterState cluster, IServiceProvider services)
    {
        _cluster = cluster;
        _services = services;
        _local = ActivatorUtilities.CreateInstance<LocalServerChannel>(services);
    }

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
                    _remote = ActivatorUtilities.CreateInstance<RemoteServerChannel>(_services, host, port);
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
