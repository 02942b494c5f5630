namespace PeerPatch.Node.Hosting;

/// <summary>Counters since start. Thread-safe; read by /v1/status.</summary>
internal sealed class NodeStats
{
    private long _lanBytesServed;
    private long _lanBytesFetched;
    private long _internetBytes;
    private long _hits;
    private long _misses;
    private long _inFlight;
    private long _pushesAccepted;
    private long _pushesRejected;
    private long _lanFailures;
    private long _serverFallbacks;
    private long _corruptBlobsDetected;
    private long _badDatagrams;

    public long LanBytesServed => Interlocked.Read(ref _lanBytesServed);

    public long LanBytesFetched => Interlocked.Read(ref _lanBytesFetched);

    public long InternetBytes => Interlocked.Read(ref _internetBytes);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long InFlightAnswers => Interlocked.Read(ref _inFlight);

    public long PushesAccepted => Interlocked.Read(ref _pushesAccepted);

    public long PushesRejected => Interlocked.Read(ref _pushesRejected);

    public long LanFailures => Interlocked.Read(ref _lanFailures);

    public long ServerFallbacks => Interlocked.Read(ref _serverFallbacks);

    public long CorruptBlobsDetected => Interlocked.Read(ref _corruptBlobsDetected);

    public long BadDatagrams => Interlocked.Read(ref _badDatagrams);

    public void AddLanBytesServed(long n) => Interlocked.Add(ref _lanBytesServed, n);

    public void AddLanBytesFetched(long n) => Interlocked.Add(ref _lanBytesFetched, n);

    public void AddInternetBytes(long n) => Interlocked.Add(ref _internetBytes, n);

    public void Hit() => Interlocked.Increment(ref _hits);

    public void Miss() => Interlocked.Increment(ref _misses);

    public void InFlight() => Interlocked.Increment(ref _inFlight);

    public void PushAccepted() => Interlocked.Increment(ref _pushesAccepted);

    public void PushRejected() => Interlocked.Increment(ref _pushesRejected);

    public void LanFailure() => Interlocked.Increment(ref _lanFailures);

    public void ServerFallback() => Interlocked.Increment(ref _serverFallbacks);

    public void CorruptBlob() => Interlocked.Increment(ref _corruptBlobsDetected);

    public void BadDatagram() => Interlocked.Increment(ref _badDatagrams);
}
