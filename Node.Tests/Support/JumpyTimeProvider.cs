namespace PeerPatch.Node.Tests.Support;

/// <summary>The system clock whose wall time can be set forward or back (NTP stepping, an admin, a VM resume); monotonic time and timers run on.</summary>
internal sealed class JumpyTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Jump(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
