using Microsoft.Extensions.Hosting;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Drops a node from <see cref="SourceTable"/> when it leaves the cluster's membership (<see cref="ClusterService.Members"/>,
/// looked at every <see cref="Interval"/>): a holder that is gone is no source. A node never seen as a member (a pinned
/// server without discovery) is kept. Separate from <see cref="PatchServer"/>, which the membership's transport uses.
/// </summary>
internal sealed class MembershipWatch(ClusterService membership, SourceTable sources, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private HashSet<string> _last = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(Interval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Check(membership.Members);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Removes the nodes that were members at the last look and are not now.</summary>
    internal void Check(IReadOnlyList<Member> members)
    {
        var now = new HashSet<string>(members.Count, StringComparer.Ordinal);
        foreach (var m in members)
        {
            now.Add(m.NodeId);
        }

        foreach (var id in _last)
        {
            if (!now.Contains(id))
            {
                sources.RemoveNode(id);
            }
        }

        _last = now;
    }
}
