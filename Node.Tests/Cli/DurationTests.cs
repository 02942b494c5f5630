using PeerPatch.Node.Sources;
using Microsoft.Extensions.Configuration;
using PeerPatch.Node.Cli;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Tests.Cli;

public sealed class DurationTests
{
    [Theory]
    [InlineData("6h", 6 * 3600)]
    [InlineData("30m", 1800)]
    [InlineData("90s", 90)]
    [InlineData("1d", 86400)]
    [InlineData("0", 0)]
    [InlineData("06:00:00", 6 * 3600)]
    public void Durations_Parse(string text, int seconds)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5m")]
    [InlineData("5x")]
    public void Nonsense_IsRefused(string text) => Assert.False(Duration.TryParse(text, out _));

    [Theory]
    [InlineData("10.0.0.5:47470", "10.0.0.5", 47470)]
    [InlineData("server.lan:1", "server.lan", 1)]
    [InlineData("[fe80::1]:47470", "fe80::1", 47470)]
    public void ServerAddresses_Parse(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var h, out var p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("server")]
    [InlineData("server:0")]
    [InlineData("server:99999")]
    [InlineData(":47470")]
    public void BadServerAddresses_AreRefused(string text) => Assert.False(HostPort.TryParse(text, out _, out _));

    [Fact]
    public void DefaultOptions_AreValid() =>
        Assert.NotNull(NodeSettings.Load(new ConfigurationBuilder().Build()));

    [Fact]
    public void ClientRoleWithoutAServer_IsAConfigurationError()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [nameof(ClusterOptions.Role)] = "client",
            [$"{nameof(SourcesOptions.Sources)}:0"] = "ftp://x",
        }).Build();

        // Every folder's validator runs, and all failures are reported together (here: Cluster's and Sources').
        var result = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => { NodeSettings.Load(config); });
        Assert.Contains("Server", result.Message);
        Assert.Contains("ftp://x", result.Message);
    }
}
