namespace PeerPatch.Node.Http;

/// <summary>
/// The shared byte rate of every blob upload of the node (<see cref="HttpOptions.UploadRateLimit"/>; 0: no cap). A
/// sender asks before each chunk and waits the time the chunk costs at the rate beyond what the bucket holds (a
/// quarter second's worth of burst); one wait is at most the upload slots' chunks / rate.
/// </summary>
internal sealed class UploadThrottle(HttpOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private double _tokens;
    private long _at = time.GetTimestamp();

    public bool Enabled => options.UploadRateLimit > 0;

    /// <summary>Waits until <paramref name="bytes"/> more may go out.</summary>
    public ValueTask WaitAsync(int bytes, CancellationToken ct)
    {
        var rate = (double)options.UploadRateLimit;
        if (rate <= 0)
        {
            return ValueTask.CompletedTask;
        }

        TimeSpan delay;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var burst = rate / 4;
            _tokens = Math.Min(burst, _tokens + (time.GetElapsedTime(_at, now).TotalSeconds * rate));
            _at = now;
            _tokens -= bytes;
            if (_tokens >= 0)
            {
                return ValueTask.CompletedTask;
            }

            delay = TimeSpan.FromSeconds(-_tokens / rate); // the debt of every sender: at most slots x chunk / rate
        }

        return new ValueTask(Task.Delay(delay, time, ct));
    }
}
