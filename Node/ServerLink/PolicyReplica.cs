using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// This node's copy of the LAN's policy: the last one a server gave it (sealed, checked), kept in
/// <c>policy.json</c> in the data directory so it survives restarts and outages. A node that cannot reach a server
/// applies it; a node that never had one applies <see cref="PolicyState.Default"/> (no rings, no cap, no windows).
/// A copy replaces another only when it is at least as new (<see cref="PolicyState.Precedence"/>; the same copy refreshes ring 0's record).
/// A copy at the highest version set too far in this node's future (<see cref="PolicyEnvelope.IsSetTooFarAhead"/>) is
/// refused, and one held from before yields to the next copy a server gives, so no server can pin the node's policy.
/// </summary>
internal sealed partial class PolicyReplica
{
    public const string FileName = "policy.json";

    private readonly string _path;
    private readonly ClusterAuth _auth;
    private readonly TimeProvider _time;
    private readonly ILogger<PolicyReplica> _logger;
    private readonly Lock _lock = new();
    private PolicyState _current;

    public PolicyReplica(CoreOptions options, ClusterAuth auth, TimeProvider time, ILogger<PolicyReplica> logger)
    {
        (_path, _auth, _time, _logger) = (Path.Combine(Path.GetFullPath(options.DataDir), FileName), auth, time, logger);
        _current = Load() ?? PolicyState.Default;
    }

    /// <summary>Raised after a new copy was accepted.</summary>
    public event Action<PolicyState>? Changed;

    public PolicyState Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>What this node offers a server (after a failover the highest version among the nodes wins).</summary>
    public PolicyReply Offer()
    {
        var state = Current;
        return ToReply(state);
    }

    /// <summary>Accepts a server's copy when sealed right, strictly readable, and not older; false with why otherwise.</summary>
    public bool TryAccept(PolicyReply reply, out string error)
    {
        if (!TryRead(reply, out var state, out error))
        {
            Log.Refused(_logger, error);
            return false;
        }

        var now = _time.GetUtcNow();
        if (state!.Envelope.IsSetTooFarAhead(now))
        {
            error = $"version {state.Version} was set at {state.Envelope.SetAt:O}, more than {PolicyEnvelope.MaxClockSkew.TotalMinutes:0} min in the future of this node's clock (at the highest version it would outrank every later change); the policy held stays";
            Log.Refused(_logger, error);
            return false;
        }

        lock (_lock)
        {
            if (state.Precedence(_current) < 0 && !_current.Envelope.IsSetTooFarAhead(now))
            {
                error = $"version {state.Version} (set at {state.Envelope.SetAt:O}) is older than this node's {_current.Version} (set at {_current.Envelope.SetAt:O})";
                return false;
            }

            _current = state;
            Save(reply); // under the lock: two accepts racing cannot leave the older copy on disk
        }

        Changed?.Invoke(state);
        return true;
    }

    internal static PolicyReply ToReply(PolicyState state) =>
        new(state.Text, state.Seal, state.Ring0.Select(r => new RingZeroEntry(r.Os, r.Patch, r.FirstApplied, r.FailedOn)).ToList(), state.RingComputedAt);

    private bool TryRead(PolicyReply reply, out PolicyState? state, out string error)
    {
        state = null;
        if (reply.Envelope is not { } text)
        {
            error = "no policy envelope";
            return false;
        }

        if (!PolicySeal.Verify(_auth.Key, text, reply.Seal, out error))
        {
            return false;
        }

        if (!PolicyEnvelope.TryParse(text, out var envelope, out var errors))
        {
            error = string.Join("; ", errors);
            return false;
        }

        var ring0 = (reply.Ring0 ?? []).Take(100_000)
            .Where(r => Protocol.WireFormat.IsOsVersion(r.Os) && Protocol.WireFormat.IsPatchName(r.Patch) && (r.FailedOn is null || Protocol.WireFormat.IsNodeId(r.FailedOn)))
            .Select(r => new RingStatus(r.Os!, r.Patch!, r.FirstApplied, r.FailedOn))
            .ToList();
        state = new PolicyState(envelope!, text, reply.Seal, ring0, reply.RingComputedAt);
        return true;
    }

    private PolicyState? Load()
    {
        try
        {
            if (!File.Exists(_path) || new FileInfo(_path).Length > 16L << 20)
            {
                return null;
            }

            var reply = JsonSerializer.Deserialize(File.ReadAllBytes(_path), StatusJsonContext.Default.PolicyReply);
            if (reply is not null && TryRead(reply, out var state, out var error))
            {
                return state;
            }

            Log.StoredUnusable(_logger, _path, reply is null ? "empty" : "refused");
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            Log.StoredUnusable(_logger, _path, e.Message);
        }

        return null;
    }

    private void Save(PolicyReply reply)
    {
        try
        {
            // Durable like a blob: a temp file of its own (two writers never share one), flushed to disk, renamed over
            // the old copy, and the directory flushed, so a power cut leaves the old policy or the new one, never an
            // empty file that would make the node fall back to the defaults (and apply patches an admin held).
            var directory = Path.GetDirectoryName(_path)!;
            Directory.CreateDirectory(directory);
            var temp = $"{_path}.{Guid.NewGuid():N}.tmp";
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                {
                    file.Write(JsonSerializer.SerializeToUtf8Bytes(reply, StatusJsonContext.Default.PolicyReply));
                    file.Flush(flushToDisk: true);
                }

                File.Move(temp, _path, overwrite: true);
                Storage.DirectorySync.Flush(directory);
            }
            finally
            {
                File.Delete(temp); // gone already after the move
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.SaveFailed(_logger, _path, e.Message); // the copy in memory still applies
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 720, Level = LogLevel.Warning, Message = "policy from the server refused: {Error}")]
        public static partial void Refused(ILogger logger, string error);

        [LoggerMessage(EventId = 721, Level = LogLevel.Warning, Message = "stored policy {Path} unusable ({Error}); the defaults apply until a server sends one")]
        public static partial void StoredUnusable(ILogger logger, string path, string error);

        [LoggerMessage(EventId = 722, Level = LogLevel.Warning, Message = "could not store the policy in {Path}: {Error}")]
        public static partial void SaveFailed(ILogger logger, string path, string error);
    }
}
