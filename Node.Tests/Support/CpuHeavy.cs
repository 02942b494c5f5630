namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// The two tests that load both cores by design run alone, after the parallel classes: FuzzTests (a million hostile
/// datagrams as fast as the test can send them) and MemoryTests (1 GiB read, hashed and written by two nodes).
/// Beside them the timing-bound tests (elections within 1.2-3 s, passes within their bounds, an in-process node of
/// the test host itself) were starved into failing; and MemoryTests' RSS figures are cleanest on a quiet machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuHeavy
{
    public const string Name = "cpu-heavy, alone";
}
