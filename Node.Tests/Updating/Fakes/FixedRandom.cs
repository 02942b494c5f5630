using PeerPatch.Node.Primitives;
using PeerPatch.Node.Hosting;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>Randomness a test chooses: ids count up, every unit value is <see cref="Unit"/> (settable).</summary>
internal sealed class FixedRandom(double unit = 0.5) : IRandomSource
{
    private ulong _next;

    public double Unit { get; set; } = unit;

    public ulong NextId() => Interlocked.Increment(ref _next);

    public double NextDouble() => Unit;
}
