using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// The internet bounds hold for every path only if no code makes its own client: the node's HttpClients are made in
/// Transfer alone (the CLI's, which talk to a node, are the only others). The new bounds are checked at start-up.
/// </summary>
public sealed partial class InternetClientTests
{
    private static readonly string RepoRoot =
        typeof(InternetClientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [Fact]
    public void NoNodeCodeOutsideTransferMakesItsOwnHttpClientOrHandler()
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
        Assert.All(makers, f => Assert.True(f is "Transfer/HttpClients.cs" or "Transfer/TransferServiceCollectionExtensions.cs" || f.StartsWith("Cli/", StringComparison.Ordinal), $"{f} makes its own HttpClient or handler"));
    }

    [Theory]
    [InlineData(nameof(TransferOptions.InternetConnectTimeout))]
    [InlineData(nameof(TransferOptions.InternetHeadersTimeout))]
    [InlineData(nameof(UpdatingOptions.PassDeadline))]
    [InlineData(nameof(UpdatingOptions.PassLockWait))]
    public void AZeroBound_IsRefusedAtStartUp_ByName(string option)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [option] = "00:00:00" }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => { NodeSettings.Load(config); });

        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANegativeMinimumRate_IsRefused_AndTheDefaultsPass()
    {
        Assert.False(new TransferOptionsValidator().Validate(null, new TransferOptions()).Failed);
        Assert.Contains("InternetMinBytesPerSecond", new TransferOptionsValidator().Validate(null, new TransferOptions { InternetMinBytesPerSecond = -1 }).FailureMessage, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"new\s+(HttpClient|SocketsHttpHandler|HttpClientHandler)\b")]
    private static partial Regex ClientMaker();
}
