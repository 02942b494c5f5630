namespace PeerPatch.Node.Http;

/// <summary>
/// The node's blob upload slots (<see cref="HttpOptions.UploadSlots"/>): a GET takes one for as long as it sends, or is
/// told to come back (503, <see cref="RetryAfterSeconds"/>) when none is free. Never waits.
/// </summary>
internal sealed class UploadSlots(HttpOptions options)
{
    /// <summary>The Retry-After of a 503: one second, long enough for a 1 MiB piece at 100 Mbit/s (0.1 s) to finish elsewhere.</summary>
    public const int RetryAfterSeconds = 1;

    private int _busy;

    /// <summary>Uploads running now.</summary>
    public int Busy => Volatile.Read(ref _busy);

    /// <summary>The configured number of slots.</summary>
    public int Capacity => options.UploadSlots;

    /// <summary>Takes a slot (dispose the lease to give it back); false when all are taken.</summary>
    public bool TryTake(out Lease lease)
    {
        if (Interlocked.Increment(ref _busy) > options.UploadSlots)
        {
            Interlocked.Decrement(ref _busy);
            lease = default;
            return false;
        }

        lease = new Lease(this);
        return true;
    }

    /// <summary>A taken slot.</summary>
    internal readonly struct Lease(UploadSlots? owner) : IDisposable
    {
        public void Dispose()
        {
            if (owner is not null)
            {
                Interlocked.Decrement(ref owner._busy);
            }
        }
    }
}
