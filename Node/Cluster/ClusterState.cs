using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Cluster;

/// <summary>
/// The current <see cref="ClusterView"/>, swapped atomically and announced through <see cref="Changed"/>.
/// Configuration fixes it (role server; or --server) or the election in <see cref="ClusterService"/> moves it.
/// </summary>
internal sealed class ClusterState
{
    private readonly object _lock = new();
    private ClusterView _current;

    /// <summary>
    /// The term a server pinned by configuration (--role server) advertises: far above any term an election reaches,
    /// so zero-config nodes follow the admin's choice over an elected server (higher term wins).
    /// </summary>
    public const long PinnedTerm = 1L << 40;

    private readonly TimeProvider _time;

    public ClusterState(ClusterOptions options, NodeIdentity self, TimeProvider time)
    {
        _time = time;
        Elects = options.Role == RoleSetting.Auto && options.Server is null;
        _current = options.Role == RoleSetting.Server
            ? new ClusterView(NodeRole.Server, PinnedTerm, self.NodeId, null)
            : new ClusterView(NodeRole.Client, 0, null, options.Server);
        if (options.Role == RoleSetting.Server)
        {
            ServingSince = time.MonotonicNow(); // a configured server becomes the server as it starts (a restart too)
        }
    }

    /// <summary>True when the server is elected (role auto, no --server); false when configuration fixes it.</summary>
    public bool Elects { get; }

    public ClusterView Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    public NodeRole Role => Current.Role;

    public bool IsServer => Current.Role == NodeRole.Server;

    /// <summary>HOST:UDPPORT of the server when this node is a client.</summary>
    public string? ServerAddress => Current.ServerAddress;

    /// <summary>When an election last made this node the server (null: never; a configured server is not elected).</summary>
    public DateTimeOffset? ElectedAt { get; private set; }

    /// <summary>
    /// When this node last became the server: elected, or started as the configured server (null: never). Claims the
    /// previous server (or this one before a restart) granted are adopted for a lease from then.
    /// </summary>
    public DateTimeOffset? ServingSince { get; private set; }

    /// <summary>Raised after every change of view.</summary>
    public event Action<ClusterView>? Changed;

    public void Publish(ClusterView view)
    {
        lock (_lock)
        {
            if (view == _current)
            {
                return;
            }

            if (view.Role == NodeRole.Server && (_current.Role != NodeRole.Server || _current.Term != view.Term))
            {
                ElectedAt = _time.MonotonicNow();
                ServingSince = ElectedAt;
            }

            _current = view;
        }

        Changed?.Invoke(view);
    }
}
