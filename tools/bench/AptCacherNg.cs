using System.Diagnostics;

namespace PeerPatch.Bench;

/// <summary>
/// Debian's apt-cacher-ng, the reference cache of the fleet benches: started in a network namespace with a cold
/// cache under its own directory, allowed to reach the upstream's port, killed by pid and its directory deleted on
/// dispose.
/// </summary>
internal sealed class AptCacherNg : IAsyncDisposable
{
    public const int Port = 3142;
    private readonly Process _process;
    private readonly string _dir;

    private AptCacherNg(Process process, string dir, string address) => (_process, _dir, Proxy) = (process, dir, $"http://{address}:{Port}/");

    /// <summary>What a client names as its HTTP proxy.</summary>
    public string Proxy { get; }

    public static async Task<AptCacherNg> StartAsync(string netns, string address, string dir, int upstreamPort)
    {
        Directory.CreateDirectory(Path.Combine(dir, "cache"));
        Directory.CreateDirectory(Path.Combine(dir, "log"));
        var process = Proc.Start("ip", "netns", "exec", netns, "/usr/sbin/apt-cacher-ng", "-c", "/etc/apt-cacher-ng", "ForeGround=1",
            $"Port={Port}", $"BindAddress={address}", $"CacheDir={dir}/cache", $"LogDir={dir}/log", $"PidFile={dir}/pid",
            $"SocketPath={dir}/socket", $"AllowUserPorts={upstreamPort}");
        var acng = new AptCacherNg(process, dir, address);
        try
        {
            await WaitForPortAsync(address, Port);
            return acng;
        }
        catch
        {
            await acng.DisposeAsync();
            throw;
        }
    }

    public static async Task WaitForPortAsync(string address, int port)
    {
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(address, port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }

        throw new InvalidOperationException($"nothing listens on {address}:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
