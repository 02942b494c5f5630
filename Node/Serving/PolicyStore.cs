using Microsoft.Extensions.Logging;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// The LAN's policy at the server: the newest accepted version (in this node's SQLite, so it survives a restart),
/// new versions from <c>policy set</c> and approve/hold (checked strictly; any problem keeps the old one), versions
/// nodes offer after a failover (the highest sealed one wins), and ring 0's record computed from
/// <see cref="IRingEvidence"/> for the nodes to decide eligibility with.
/// </summary>
internal sealed partial class PolicyStore(
    PatchDatabase db,
    ClusterAuth auth,
    NodeIdentity self,
    IRingEvidence evidence,
    PatchIndex index,
    TimeProvider time,
    ILogger<PolicyStore> logger)
{
    private readonly Lock _lock = new();
    private PolicyState? _current;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised after a new version was stored.</summary>
    public event Action<PolicyState>? Changed;

    /// <summary>The policy in force (ring 0's record as last computed; see <see cref="WithRing0"/>).</summary>
    public PolicyState Current
    {
        get
        {
            lock (_lock)
            {
                return _current ??= Load();
            }
        }
    }

    /// <summary>The policy in force with ring 0's record computed now.</summary>
    public PolicyState WithRing0()
    {
        var state = Current;
        return state with { Ring0 = ComputeRing0(state.Document), RingComputedAt = time.GetUtcNow() };
    }

    /// <summary>
    /// Completes when a version above <paramref name="version"/> is in force here: at once when one is, else at the
    /// next change (the nodes' long poll, so a change reaches every node within moments, not at its next refresh).
    /// </summary>
    public Task NewerThanAsync(long version, CancellationToken ct)
    {
        Task next;
        lock (_lock)
        {
            if ((_current ??= Load()).Version > version)
            {
                return Task.CompletedTask;
            }

            next = _next.Task;
        }

        return next.WaitAsync(ct);
    }

    /// <summary>A new policy from an admin's file: a new version when every check passes; otherwise every problem, and the old one stays.</summary>
    public PolicyChange TrySet(ReadOnlySpan<byte> json, string setBy)
    {
        if (!PolicyParser.TryParse(json, Known(), out var document, out var errors))
        {
            Log.Refused(logger, setBy, errors.Count);
            return new PolicyChange(false, Current, errors);
        }

        return Store(document!, setBy);
    }

    /// <summary>A new version made from the current one (approve, hold).</summary>
    public PolicyChange Change(string setBy, Func<PolicyDocument, PolicyDocument> change) => Store(change(Current.Document), setBy);

    /// <summary>
    /// A version a node held (offered after a failover): adopted when it is sealed by the cluster key (on a keyed LAN),
    /// reads strictly, and is newer than this server's. False with why otherwise (an older one is no error).
    /// </summary>
    public bool TryAdopt(string envelopeText, string? seal, out string error)
    {
        if (!PolicySeal.Verify(auth.Key, envelopeText, seal, out error))
        {
            return false;
        }

        if (!PolicyEnvelope.TryParse(envelopeText, out var envelope, out var errors))
        {
            error = string.Join("; ", errors);
            return false;
        }

        lock (_lock)
        {
            var current = _current ??= Load();
            var offered = new PolicyState(envelope!, envelopeText, seal, [], DateTimeOffset.UnixEpoch);
            // At the highest version only setAt orders copies: one set in the future would win every tie until then.
            // (Below it the version decides, and a copy from a server whose clock runs ahead is adopted as before.)
            // Such a copy held from before (stored by an earlier version, or before this clock was set back) yields.
            var now = time.GetUtcNow();
            if (envelope!.IsSetTooFarAhead(now))
            {
                error = $"version {envelope.Version} was set at {envelope.SetAt:O}, in the future of this server's clock";
                return false;
            }

            if (offered.Precedence(current) <= 0 && !current.Envelope.IsSetTooFarAhead(now))
            {
                error = $"version {envelope!.Version} (set at {envelope.SetAt:O}) is not newer than {current.Version} (set at {current.Envelope.SetAt:O})";
                return false;
            }

            db.SavePolicy(envelope!.Version, envelopeText, seal, time.GetUtcNow());
            _current = offered;
            WakeWaiters();
        }

        Log.Adopted(logger, envelope.Version, envelope.SetBy);
        Changed?.Invoke(Current);
        return true;
    }

    private PolicyChange Store(PolicyDocument document, string setBy)
    {
        PolicyState state;
        lock (_lock)
        {
            var current = _current ??= Load();
            // At the highest version (reached only through an offer on an open LAN) the version stays, and a later
            // setAt orders the new copy after the old one everywhere (PolicyState.Precedence).
            // A current copy set too far ahead (which nodes refuse) is not followed into the future: the new copy takes
            // this clock's time, and nodes holding the old one let it go (PolicyEnvelope.IsSetTooFarAhead).
            var now = time.GetUtcNow();
            if (current.Version >= PolicyEnvelope.MaxVersion && now <= current.Envelope.SetAt && !current.Envelope.IsSetTooFarAhead(now))
            {
                now = current.Envelope.SetAt.AddMilliseconds(1);
            }

            var envelope = new PolicyEnvelope(Math.Min(current.Version + 1, PolicyEnvelope.MaxVersion), setBy, now, document);
            var text = envelope.ToJson();
            if (!PolicyEnvelope.TryParse(text, out _, out var unreadable))
            {
                // What every node (and this one after a restart) reads back must be what is stored: an approve or hold
                // past a list's limit would otherwise be a version that nodes refuse and a restart drops (to the defaults).
                Log.Refused(logger, setBy, unreadable.Count);
                return new PolicyChange(false, current, unreadable);
            }

            var seal = PolicySeal.Seal(auth.Key, text, self.NodeId, now);
            db.SavePolicy(envelope.Version, text, seal, now);
            state = _current = new PolicyState(envelope, text, seal, [], DateTimeOffset.UnixEpoch);
            WakeWaiters();
        }

        Log.Stored(logger, state.Version, setBy);
        Changed?.Invoke(state);
        return new PolicyChange(true, state, []);
    }

    /// <summary>Under the lock: every long poll waiting on the version that was in force returns.</summary>
    private void WakeWaiters()
    {
        var woken = _next;
        _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        woken.TrySetResult();
    }

    private PolicyState Load()
    {
        if (db.LoadPolicy() is not { } row)
        {
            return PolicyState.Default;
        }

        if (!PolicyEnvelope.TryParse(row.Envelope, out var envelope, out var errors))
        {
            Log.Unreadable(logger, row.Version, string.Join("; ", errors));
            return PolicyState.Default;
        }

        return new PolicyState(envelope!, row.Envelope, row.Seal, [], DateTimeOffset.UnixEpoch);
    }

    private PolicyKnown Known()
    {
        var nodes = evidence.Nodes();
        return new PolicyKnown(
            nodes.Select(n => n.NodeId).Append(self.NodeId).Distinct(StringComparer.Ordinal).ToList(),
            nodes.Select(n => n.Hostname).OfType<string>().Append(Environment.MachineName).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            nodes.Select(n => n.Ring).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
            index.Names());
    }

    /// <summary>Per patch any ring-0 node applied or failed: the first application, and a ring-0 node whose latest state is failed.</summary>
    private List<RingStatus> ComputeRing0(PolicyDocument document)
    {
        if (!document.Rings.HasRing0)
        {
            return [];
        }

        var ring0 = evidence.Nodes().Where(n => document.Rings.IsRing0(n.NodeId, n.Hostname, n.Ring)).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        if (ring0.Count == 0)
        {
            return [];
        }

        return evidence.Reports(ring0)
            .GroupBy(r => (r.Os, r.Patch))
            .Select(g => new RingStatus(
                g.Key.Os,
                g.Key.Patch,
                g.Where(r => r.Applied).Select(r => (DateTimeOffset?)r.At).Min(),
                g.Where(r => !r.Applied).OrderBy(r => r.NodeId, StringComparer.Ordinal).Select(r => r.NodeId).FirstOrDefault()))
            .ToList();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "policy version {Version} set by {SetBy}")]
        public static partial void Stored(ILogger logger, long version, string setBy);

        [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "policy from {SetBy} refused: {Count} problems; the old policy stays")]
        public static partial void Refused(ILogger logger, string setBy, int count);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "policy version {Version} (set by {SetBy}) adopted from a node")]
        public static partial void Adopted(ILogger logger, long version, string setBy);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "stored policy version {Version} unreadable, using the defaults: {Error}")]
        public static partial void Unreadable(ILogger logger, long version, string error);
    }
}

/// <summary>The outcome of a policy change: the policy in force afterwards, and every problem when it was refused.</summary>
internal sealed record PolicyChange(bool Ok, PolicyState State, IReadOnlyList<string> Errors);
