using System.Reflection;
using NetArchTest.Rules;
using PeerPatch.Node.Hosting;
using PeerPatch.Protocol;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Layers;

/// <summary>
/// The floor plan of Node/ (STYLE rule 19, docs/architecture.md): each folder uses only folders in rows below its
/// own; folders in one row do not use each other. Protocol and Storage use nothing of Node (rule 1), and Storage
/// nothing of Protocol. Dependencies are read from the compiled IL (NetArchTest: signatures, fields, bodies, attributes).
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Bottom to top. Change it only together with docs/architecture.md.</summary>
    internal static readonly string[][] Layers =
    [
        ["Primitives"],
        ["Security"],
        ["Transport", "Discovery", "Transfer"],
        ["Cluster", "Sources", "Policy"],
        ["Serving"],
        ["ServerLink"],
        ["Updating"],
        ["Redirect", "Http"],
        ["Apt"],
        ["Hosting"],
        ["Cli"],
    ];

    private static readonly Assembly Node = typeof(NodeHost).Assembly;

    private static readonly string RepoRoot =
        typeof(LayeringTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static TheoryData<string> Folders() => [.. Layers.SelectMany(row => row)];

    [Theory]
    [MemberData(nameof(Folders))]
    public void AFolder_UsesNoFolderInItsRowOrAbove(string folder)
    {
        var result = Check(folder, ForbiddenFor(folder));

        Assert.True(result.IsSuccessful, $"{folder} uses a folder at or above its layer ({string.Join(", ", ForbiddenFor(folder))}): {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void AFoldersSources_ImportNoFolderInItsRowOrAbove(string folder)
    {
        // The IL check above is the rule; this keeps the source honest too (a stale using misleads the reader).
        var forbidden = ForbiddenFor(folder).Select(f => $"using {Namespace(f)};").ToList();
        var offending = Directory.EnumerateFiles(Path.Combine(RepoRoot, "Node", folder), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Where(l => forbidden.Contains(l.Trim())).Select(l => $"{Path.GetFileName(f)}: {l.Trim()}"))
            .ToList();

        Assert.Empty(offending);
    }

    [Fact]
    public void EveryFolderOfNode_IsInTheTable_AndEveryRowOfTheTableHasCode()
    {
        var known = Layers.SelectMany(row => row).ToHashSet(StringComparer.Ordinal);
        var namespaces = Node.GetTypes()
            .Select(t => t.Namespace)
            .Where(ns => ns is not null && ns.StartsWith("PeerPatch.Node", StringComparison.Ordinal))
            .Select(ns => ns!.Split('.'))
            .Select(parts => parts.Length > 2 ? parts[2] : "(PeerPatch.Node itself)")
            .ToHashSet(StringComparer.Ordinal);
        var directories = Directory.EnumerateFiles(Path.Combine(RepoRoot, "Node"), "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Combine(RepoRoot, "Node"), f).Split(Path.DirectorySeparatorChar))
            .Where(parts => parts.Length > 1 && parts[0] is not ("bin" or "obj"))
            .Select(parts => parts[0])
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(namespaces.Except(known));
        Assert.Empty(directories.Except(known));
        Assert.Empty(known.Except(namespaces));
    }

    [Fact]
    public void ProtocolAndStorage_UseNoNodeType_AndStorageNoProtocolType()
    {
        var protocol = Types.InAssembly(typeof(WireCodec).Assembly).ShouldNot().HaveDependencyOn("PeerPatch.Node").GetResult();
        var storage = Types.InAssembly(typeof(BlobStore).Assembly).ShouldNot().HaveDependencyOnAny("PeerPatch.Node", "PeerPatch.Protocol").GetResult();

        Assert.True(protocol.IsSuccessful, $"Protocol uses Node: {string.Join(", ", protocol.FailingTypeNames ?? [])}");
        Assert.True(storage.IsSuccessful, $"Storage uses Node or Protocol: {string.Join(", ", storage.FailingTypeNames ?? [])}");
    }

    /// <summary>
    /// The rule can fail: the same check, asked about pairs that really depend on each other the other way round (the
    /// direction the table forbids), reports them. Without this, a check that matched nothing would pass every folder.
    /// </summary>
    [Theory]
    [InlineData("Updating", "ServerLink")] // PatchPipeline asks the server channel
    [InlineData("Apt", "Redirect")] // the apt proxy hands redirected files to the redirect cache
    [InlineData("Serving", "Cluster")] // PatchServer answers only as the server
    [InlineData("Sources", "Primitives")]
    [InlineData("Transport", "Security")]
    public void TheCheck_ReportsARealDependency(string user, string used)
    {
        var result = Check(user, [used]);

        Assert.False(result.IsSuccessful);
        Assert.NotEmpty(result.FailingTypeNames);
    }

    [Fact]
    public void TheCheck_ReportsTheTypesOfAFolderThatUsesTheLayerAboveIt()
    {
        // Run as if the table were upside down for one pair: Cluster may not use Discovery.
        var result = Check("Cluster", ["Discovery"]);

        Assert.Contains(result.FailingTypeNames, n => n.StartsWith("PeerPatch.Node.Cluster.ClusterService", StringComparison.Ordinal));
    }

    /// <summary>Every folder in the same row and in every row above <paramref name="folder"/>'s.</summary>
    internal static IReadOnlyList<string> ForbiddenFor(string folder)
    {
        var row = Array.FindIndex(Layers, r => r.Contains(folder));
        return [.. Layers.Skip(row).SelectMany(r => r).Where(f => f != folder)];
    }

    private static TestResult Check(string folder, IEnumerable<string> forbidden) =>
        Types.InAssembly(Node)
            .That().ResideInNamespace(Namespace(folder))
            .ShouldNot().HaveDependencyOnAny([.. forbidden.Select(Namespace)])
            .GetResult();

    private static string Namespace(string folder) => $"PeerPatch.Node.{folder}";
}
