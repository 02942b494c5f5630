using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Single flight for misses: per patch, at most one node at a time holds a download claim with a lease; the
/// others are told "in flight" and ask again. A claim ends when its holder pushes the blob, releases it, stops
/// renewing it (it died), or shows no progress (renewals with more bytes, or bytes of its push arriving) for
/// <see cref="ClaimPolicy.StallTimeout"/> (it stalled);
/// the next asker then gets it. At most <see cref="ClaimPolicy.MaxLive"/> claims live at once: a new one past that is
/// queued (the asker asks again). Pure policy: no I/O, time comes in as <c>now</c>.
/// </summary>
internal sealed class ClaimTable(ClaimPolicy policy, IRandomSource random)
{
    private const int PruneEvery = 256;

    private readonly object _lock = new();
    private readonly Dictionary<string, Claim> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, Claim> _byId = [];
    private int _grantsSincePrune;

    /// <summary>Claims alive or not yet pruned.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byKey.Count;
            }
        }
    }

    /// <summary>Claims alive at <paramref name="now"/> (the downloads sharing the internet rate cap).</summary>
    public int LiveCount(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _byId.Values.Count(c => IsAlive(c, now));
        }
    }

    /// <summary>Whether claim <paramref name="claimId"/> is alive at <paramref name="now"/>.</summary>
    public bool IsLive(ulong claimId, DateTimeOffset now)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(claimId, out var claim) && IsAlive(claim, now);
        }
    }

    /// <summary>Grants the claim for <paramref name="key"/> to <paramref name="nodeId"/> unless a live claim of another node exists.</summary>
    public ClaimDecision Acquire(string key, string? sha256, string nodeId, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var existing))
            {
                if (IsAlive(existing, now) && existing.Holder != nodeId)
                {
                    return new ClaimDecision(false, 0, TimeSpan.Zero, existing.Bytes, policy.RetryAfter);
                }

                if (IsAlive(existing, now))
                {
                    existing.ExpiresAt = now + policy.Lease; // the holder asked again: same claim
                    return new ClaimDecision(true, existing.Id, policy.Lease, existing.Bytes, TimeSpan.Zero);
                }

                Remove(existing);
            }

            if (policy.MaxLive > 0 && _byId.Values.Count(c => IsAlive(c, now)) >= policy.MaxLive)
            {
                return new ClaimDecision(false, 0, TimeSpan.Zero, 0, policy.RetryAfter, Queued: true);
            }

            if (++_grantsSincePrune >= PruneEvery)
            {
                _grantsSincePrune = 0;
                Prune(now); // claims of holders that died and were never asked about again
            }

            var claim = new Claim(random.NextId(), key, sha256, nodeId) { ExpiresAt = now + policy.Lease, LastProgressAt = now };
            _byKey[key] = claim;
            _byId[claim.Id] = claim;
            return new ClaimDecision(true, claim.Id, policy.Lease, 0, TimeSpan.Zero);
        }
    }

    /// <summary>Extends a live claim whose holder made progress. False: the claim is gone (expired, stalled, released).</summary>
    public bool Renew(ulong claimId, long bytesDone, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(claimId, out var claim) || !IsAlive(claim, now))
            {
                return false;
            }

            if (bytesDone > claim.Bytes)
            {
                claim.Bytes = bytesDone;
                claim.LastProgressAt = now;
            }

            claim.ExpiresAt = now + policy.Lease;
            return IsAlive(claim, now);
        }
    }

    /// <summary>
    /// Bytes of the blob arrive in a push from <paramref name="nodeId"/>: a live claim of that node for it shows
    /// progress and its lease runs from <paramref name="now"/>. A download ends before its push does (a PC's upload
    /// shared with its serving, the server's download with every push), and until the push lands the server has
    /// nothing for the waiters: the claim must outlive it, its holder's renewals reporting a finished download.
    /// </summary>
    public void PushProgress(string sha256, string nodeId, DateTimeOffset now)
    {
        lock (_lock)
        {
            foreach (var claim in _byId.Values)
            {
                if (claim.Sha256 == sha256 && claim.Holder == nodeId && IsAlive(claim, now))
                {
                    claim.LastProgressAt = now;
                    if (claim.ExpiresAt < now + policy.Lease)
                    {
                        claim.ExpiresAt = now + policy.Lease;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Takes over a claim another server granted (this one was elected, or restarted, while its holder downloaded),
    /// under the same id and with the holder's progress so far. False when the id is known here, unless it is this
    /// table's own dead claim whose holder has made progress since (it renewed to another server meanwhile: this one
    /// lost the role and got it back); false too when another node holds a live claim for <paramref name="key"/>. An
    /// adopted claim has half a <see cref="ClaimPolicy.StallTimeout"/> to show progress here, so a holder that stalled
    /// under the previous server does not get a whole new stall allowance with every server change.
    /// </summary>
    public bool Adopt(ulong claimId, string key, string sha256, string nodeId, long bytesDone, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (claimId == 0)
            {
                return false;
            }

            if (_byId.TryGetValue(claimId, out var known))
            {
                if (IsAlive(known, now) || known.Holder != nodeId || known.Key != key || bytesDone <= known.Bytes)
                {
                    return false; // alive (renew it), or dead here with nothing done since: not brought back
                }

                Remove(known);
            }

            if (_byKey.TryGetValue(key, out var existing))
            {
                if (IsAlive(existing, now))
                {
                    return false; // granted here meanwhile (to this holder too: it then renews that one)
                }

                Remove(existing);
            }

            var claim = new Claim(claimId, key, sha256, nodeId) { ExpiresAt = now + policy.Lease, LastProgressAt = now - (policy.StallTimeout / 2), Bytes = bytesDone };
            _byKey[key] = claim;
            _byId[claimId] = claim;
            return true;
        }
    }

    /// <summary>Ends a claim (download failed, or push done).</summary>
    public void Release(ulong claimId)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(claimId, out var claim))
            {
                Remove(claim);
            }
        }
    }

    /// <summary>Ends every claim for a blob that has just been stored.</summary>
    public void Complete(string sha256)
    {
        lock (_lock)
        {
            foreach (var claim in _byId.Values.Where(c => c.Sha256 == sha256).ToList())
            {
                Remove(claim);
            }
        }
    }

    /// <summary>True while a live claim for that blob exists (someone is downloading it).</summary>
    public bool IsClaimed(string sha256, DateTimeOffset now)
    {
        lock (_lock)
        {
            return _byId.Values.Any(c => c.Sha256 == sha256 && IsAlive(c, now));
        }
    }

    /// <summary>Drops dead claims.</summary>
    public int Prune(DateTimeOffset now)
    {
        lock (_lock)
        {
            var dead = _byId.Values.Where(c => !IsAlive(c, now)).ToList();
            dead.ForEach(Remove);
            return dead.Count;
        }
    }

    private bool IsAlive(Claim claim, DateTimeOffset now) =>
        now < claim.ExpiresAt && now - claim.LastProgressAt < policy.StallTimeout;

    private void Remove(Claim claim)
    {
        _byKey.Remove(claim.Key);
        _byId.Remove(claim.Id);
    }

    private sealed class Claim(ulong id, string key, string? sha256, string holder)
    {
        public ulong Id { get; } = id;

        public string Key { get; } = key;

        public string? Sha256 { get; } = sha256;

        public string Holder { get; } = holder;

        public DateTimeOffset ExpiresAt { get; set; }

        public DateTimeOffset LastProgressAt { get; set; }

        public long Bytes { get; set; }
    }
}
