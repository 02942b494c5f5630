namespace PeerPatch.Node.Transfer;

/// <summary>Progress of one transfer: the latest byte count, plus a callback with each increment (for counters).</summary>
internal sealed class ByteProgress(Action<long>? onIncrement = null) : IProgress<long>
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Report(long value)
    {
        var previous = Interlocked.Exchange(ref _value, value);
        if (value > previous)
        {
            onIncrement?.Invoke(value - previous);
        }
    }
}
