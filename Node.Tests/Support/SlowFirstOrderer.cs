using Xunit.Abstractions;
using Xunit.Sdk;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Starts the test collections (one per class) that take longest first, so that the parallel run does not end on
/// one long class started last: the package build, then the integration classes (real processes, networks), then
/// the quick unit tests, which fill the gaps. Within a rank, by name (a stable order from run to run).
/// </summary>
public sealed class SlowFirstOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => Rank(c.DisplayName)).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    private static int Rank(string name) =>
        name.Contains(".Integration.PackageTests", StringComparison.Ordinal) ? 0
        : name.Contains(".Integration.", StringComparison.Ordinal) || name.Contains("MdnsInteropTests", StringComparison.Ordinal) ? 1
        : 2;
}
