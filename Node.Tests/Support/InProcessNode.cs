using PeerPatch.Node.Sources;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Updating;
using PeerPatch.Node.Security;
using PeerPatch.Node.Redirect;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using PeerPatch.Node.Hosting;

namespace PeerPatch.Node.Tests.Support;

/// <summary>A node hosted in the test process, on loopback, so that its clock can be injected.</summary>
internal sealed class InProcessNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessNode(WebApplication app, int udp, int http, string dataDir)
    {
        _app = app;
        DataDir = dataDir;
        Udp = udp;
        Http = new Uri($"http://127.0.0.1:{http}/");
    }

    public int Udp { get; }

    public string DataDir { get; }

    /// <summary>The node's services (its update runner, caches...), for tests that drive one part directly.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Everything the node wrote to its log file so far.</summary>
    public string Log => string.Concat(Directory.Exists(System.IO.Path.Combine(DataDir, "logs"))
        ? Directory.GetFiles(System.IO.Path.Combine(DataDir, "logs")).Order(StringComparer.Ordinal).Select(ReadShared)
        : []);

    public Uri Http { get; }

    public string ServerAddress => $"127.0.0.1:{Udp}";

    public static async Task<InProcessNode> StartAsync(string dataDir, TimeProvider time, IDictionary<string, string?> settings)
    {
        var (udp, http) = FreePorts.Pair();
        var config = new Dictionary<string, string?>
        {
            [nameof(CoreOptions.DataDir)] = dataDir,
            [nameof(CoreOptions.Port)] = udp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [nameof(CoreOptions.HttpPort)] = http.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [nameof(CoreOptions.Bind)] = "127.0.0.1",
            [nameof(CoreOptions.OsVersion)] = "test-1-amd64",
            [nameof(UpdatingOptions.UpdateInterval)] = "00:00:00",
            [$"{nameof(ClusterOptions.MdnsInterfaces)}:0"] = "lo",
            [nameof(ClusterOptions.MdnsPort)] = LoopbackMdns.PortFor(dataDir).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [nameof(SecurityOptions.ClusterKeyFile)] = "none",
            [nameof(RedirectOptions.RedirectPort)] = "0",
            [$"{nameof(SourcesOptions.Sources)}:0"] = "none", // not this machine's apt (the default on Debian)
        };
        foreach (var (k, v) in settings)
        {
            config[k] = v;
        }

        var app = NodeHost.Build(new ConfigurationBuilder().AddInMemoryCollection(config).Build(), time);
        await app.StartAsync();
        return new InProcessNode(app, udp, http, dataDir);
    }

    public async Task<JsonElement> StatusAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(Http, "v1/status"))).RootElement.Clone();
    }

    public async Task<JsonElement> PatchesAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(Http, "v1/patches"))).RootElement.Clone();
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
