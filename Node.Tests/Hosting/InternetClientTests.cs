using System.Reflection;
using System.Text.RegularExpressions;
using PeerPatch.Node.Hosting;

namespace PeerPatch.Node.Tests.Hosting;

/// <summary>
/// The internet bounds hold for every path only if no code makes its own client: the node's HttpClients are made in
/// Transfer alone (the CLI's, which talk to a node, are the only others). The new bounds are checked at start-up.
/// </summary>
public sealed partial class InternetClientTests
{
    private static readonly string RepoRoot =
        typeof(InternetClientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [Fact]
    public void NoNodeCodeOutsideHostingMakesItsOwnHttpClientOrHandler()
    {
        var node = Path.Combine(RepoRoot, "Node");
        var makers = Directory.EnumerateFiles(node, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => ClientMaker().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(node, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(makers); // the scan sees the real makers
        Assert.All(makers, f => Assert.True(f is "Transfer/HttpClients.cs" or "Hosting/NodeHost.cs" || f.StartsWith("Cli/", StringComparison.Ordinal), $"{f} makes its own HttpClient or handler"));
    }

    [Theory]
    [InlineData(nameof(NodeOptions.InternetConnectTimeout))]
    [InlineData(nameof(NodeOptions.InternetHeadersTimeout))]
    [InlineData(nameof(NodeOptions.PassDeadline))]
    [InlineData(nameof(NodeOptions.PassLockWait))]
    public void AZeroBound_IsRefusedAtStartUp_ByName(string option)
    {
        var options = new NodeOptions();
        typeof(NodeOptions).GetProperty(option)!.SetValue(options, TimeSpan.Zero);

        var result = new NodeOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ANegativeMinimumRate_IsRefused_AndTheDefaultsPass()
    {
        Assert.False(new NodeOptionsValidator().Validate(null, new NodeOptions()).Failed);
        Assert.Contains("InternetMinBytesPerSecond", new NodeOptionsValidator().Validate(null, new NodeOptions { InternetMinBytesPerSecond = -1 }).FailureMessage, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"new\s+(HttpClient|SocketsHttpHandler|HttpClientHandler)\b")]
    private static partial Regex ClientMaker();
}
