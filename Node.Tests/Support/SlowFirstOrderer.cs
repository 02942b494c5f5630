using Xunit.Abstractions;
using Xunit.Sdk;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Starts the test collections (one per class) that take longest first, so that the parallel run does not end on
/// one long class started last: the package build, then the integration classes known to be long (in the order
/// below), then the other integration classes (real processes, networks), then the quick unit tests, which fill the
/// gaps. Within a rank, by name (a stable order from run to run). tools/test.sh runs the unit tests and the
/// integration tests in two runs; the order applies within each.
/// </summary>
public sealed class SlowFirstOrderer : ITestCollectionOrderer
{
    /// <summary>
    /// The integration classes that took 20 s or more in all (their tests run one after another), longest first, as
    /// measured in clean runs of tools/test.sh on 2 cores on 2026-12-01 (seconds in the comments: the larger of two
    /// runs). Started last, by name, the ZeroConfTests classes alone kept the run going 25 s with three of its six
    /// slots empty, and later PolicyLanTests 25 s alone. A class missing here only starts later.
    /// </summary>
    internal static readonly string[] Longest =
    [
        "FallbackTests",               // 68
        "AptProbeTests",               // 48
        "PolicyFailoverTests",         // 40
        "HostileUpstreamRelayTests",   // 30
        "PartialBlobKillTests",        // 30
        "ZeroConfTests+Failover",      // 30
        "ComplianceTests",             // 29
        "AptSourceTests",              // 27
        "PolicyLanTests",              // 24
        "InstallerSurvivalTests",      // 23
        "ComplianceNetnsTests",        // 23
        "HostileUpstreamFeedTests",    // 22
        "ForgedAdvertTests+Keyed",     // 22
        "PartialBlobDiskFullTests",    // 22
        "ZeroConfTests+Partitions",    // 22
        "KeyedLanTests",               // 21
        "LanUpdateTests+ServerKill",   // 21
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => Rank(c.DisplayName)).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    private static int Rank(string name)
    {
        const string integration = ".Integration.";
        if (name.Contains(integration + "PackageTests", StringComparison.Ordinal))
        {
            return 0;
        }

        var at = name.IndexOf(integration, StringComparison.Ordinal);
        if (at >= 0)
        {
            var index = Array.IndexOf(Longest, name[(at + integration.Length)..]);
            return index >= 0 ? 1 + index : 1 + Longest.Length;
        }

        return name.Contains("MdnsInteropTests", StringComparison.Ordinal) ? 1 + Longest.Length : 2 + Longest.Length;
    }
}
