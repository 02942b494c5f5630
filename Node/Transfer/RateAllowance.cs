namespace PeerPatch.Node.Transfer;

/// <summary>
/// The rate one internet download may use, bytes/s (0: unlimited): this node's share of the LAN-wide cap, as the
/// server last named it (with the claim, then with each renewal). Read by <see cref="RateLimitedStream"/> on every read.
/// </summary>
internal sealed class RateAllowance(long bytesPerSecond)
{
    private long _bytesPerSecond = Math.Max(0, bytesPerSecond);

    public long BytesPerSecond
    {
        get => Volatile.Read(ref _bytesPerSecond);
        set => Volatile.Write(ref _bytesPerSecond, Math.Max(0, value));
    }
}
