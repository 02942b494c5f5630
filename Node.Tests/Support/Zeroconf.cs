using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace PeerPatch.Node.Tests.Support;

/// <summary>python3-zeroconf, an independent mDNS implementation, browsing inside a test namespace (tools/mdns).</summary>
internal static class Zeroconf
{
    /// <summary>Browses <paramref name="serviceType"/> for 3 s in <paramref name="netns"/>; one JSON object per instance resolved.</summary>
    public static async Task<List<JsonElement>> BrowseAsync(string netns, string serviceType, string version = "v4")
    {
        var script = Path.Combine(
            typeof(Zeroconf).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!,
            "tools", "mdns", "zeroconf-browse.py");
        var psi = NetnsLan.Command(netns, "/usr/bin/python3", script, serviceType, "3", version);
        using var process = Process.Start(psi)!;
        var errors = process.StandardError.ReadToEndAsync();
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await errors);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }
}
