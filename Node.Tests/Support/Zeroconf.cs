using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace PeerPatch.Node.Tests.Support;

/// <summary>python3-zeroconf, an independent mDNS implementation, browsing inside a test namespace (tools/mdns).</summary>
internal static class Zeroconf
{
    /// <summary>The browse takes 3 s; a loaded machine may take several times that to start python3.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Browses <paramref name="serviceType"/> for 3 s in <paramref name="netns"/>; one JSON object per instance resolved.</summary>
    public static async Task<List<JsonElement>> BrowseAsync(string netns, string serviceType, string version = "v4")
    {
        var script = Path.Combine(
            typeof(Zeroconf).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!,
            "tools", "mdns", "zeroconf-browse.py");
        var psi = NetnsLan.Command(netns, "/usr/bin/python3", script, serviceType, "3", version);
        using var process = Process.Start(psi)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await ChildProcess.ExitWithinAsync(process, Bound, $"zeroconf-browse.py in {netns}"); // python3-zeroconf has no timeouts of its own
        var text = await output.WaitAsync(Bound);
        Assert.True(process.ExitCode == 0, await errors.WaitAsync(Bound));
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }
}
