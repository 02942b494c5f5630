using System.Globalization;
using System.Reflection;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// Issue 15: the shipped executable lays out the functions an idle node runs first, in Node/peerpatch.order's order
/// (tools/package/order/profile.sh writes it; the linux-x64 publish profile hands it to the compiler). Checked on the
/// object file of the publish tools/test.sh ran, whose symbols the shipped, stripped executable no longer has.
/// </summary>
public sealed class FunctionOrderTests
{
    /// <summary>Below this share of its names still compiled, the file is stale: regenerate it.</summary>
    private const double MinCoverage = 0.9;

    private static readonly string RepoRoot =
        typeof(FunctionOrderTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [Fact]
    public async Task TheShippedBuildLaysOutTheOrderFilesFunctionsFirstInItsOrder_AndTheFileStillNamesThem()
    {
        var order = File.ReadAllLines(Path.Combine(RepoRoot, "Node", "peerpatch.order")).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var objectFile = Path.Combine(RepoRoot, "Node", "obj", "Release", "net10.0", "linux-x64", "native", "peerpatch.o");
        Assert.True(File.Exists(objectFile), $"{objectFile} is missing: publish first (tools/package/publish.sh linux-x64)");

        // objdump -t: "OFFSET l     F __managedcode\tSIZE NAME" (offsets within the section).
        var table = (await ExternalCommand.RunAsync(RepoRoot, "objdump", "-t", objectFile)).Stdout;
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in table.Split('\n'))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0 || !line.AsSpan(0, tab).EndsWith(" __managedcode", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line[(line.LastIndexOf(' ') + 1)..]; // after the size, and after ".hidden" when there is one
            offsets.TryAdd(name, long.Parse(line.AsSpan(0, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }

        Assert.True(offsets.Count > 10_000, $"objdump found {offsets.Count} functions in {objectFile}");
        var listed = order.Where(offsets.ContainsKey).ToList();
        var coverage = (double)listed.Count / order.Count;
        Assert.True(
            coverage >= MinCoverage,
            $"{listed.Count} of the {order.Count} names in Node/peerpatch.order are still compiled ({coverage:P0}): regenerate it with tools/package/order/profile.sh");

        // Applied: each listed function lies after the one listed before it, and they come first: the last listed one
        // starts before any unlisted function does. A name whose body the compiler folded into one laid out earlier
        // (identical code, one offset) is skipped.
        var laidOut = new HashSet<long>();
        var (previous, previousName) = (-1L, "");
        foreach (var name in listed)
        {
            var offset = offsets[name];
            if (!laidOut.Add(offset))
            {
                continue;
            }

            Assert.True(
                offset > previous,
                $"{name} (at {offset}) is laid out before {previousName} (at {previous}), which Node/peerpatch.order lists first: is IlcOrderFile set in Node/Properties/PublishProfiles/linux-x64.pubxml?");
            (previous, previousName) = (offset, name);
        }

        var listedSet = listed.ToHashSet(StringComparer.Ordinal);
        var firstUnlisted = offsets.Where(o => !listedSet.Contains(o.Key) && !laidOut.Contains(o.Value)).Min(o => o.Value);
        Assert.True(offsets[listed[^1]] <= firstUnlisted, $"an unlisted function starts at {firstUnlisted}, before the last listed one ({offsets[listed[^1]]})");
    }
}
