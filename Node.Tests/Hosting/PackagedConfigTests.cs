using System.Reflection;
using Microsoft.Extensions.Configuration;
using PeerPatch.Node.Hosting;

namespace PeerPatch.Node.Tests.Hosting;

public sealed class PackagedConfigTests
{
    private static readonly string RepoRoot =
        typeof(PackagedConfigTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [Fact]
    public void TheDebsDefaultConfig_Parses_UsesApt_AndPassesValidation()
    {
        var file = Path.Combine(RepoRoot, "tools", "package", "debian", "peerpatch.json");
        var settings = NodeSettings.Load(new ConfigurationBuilder().AddJsonFile(file, optional: false).Build()); // throws when invalid

        Assert.Equal(["apt"], settings.Sources.Sources);
    }
}
