using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// A real dpkg, configuring a real package, when the node that started it dies (SIGKILL) or is stopped (SIGTERM, what
/// systemctl stop and restart send with KillMode=process, and what a PeerPatch upgrade's own postinst causes): dpkg
/// must finish the package, not stop half-configured. Before InstallRunner, the installer's output was a pipe to the
/// node: the postinst's next line after the node's death killed it (SIGPIPE) and dpkg left the package
/// "half-configured"; on SIGTERM the node waited for the installer, so a self-upgrade's restart waited for itself.
/// The package is installed into a throwaway root (dpkg --root, maintainer scripts chrootless with DPKG_ROOT, as
/// PackageTests does), so nothing outside the test's directory changes. The patch the feed lists is a generated file:
/// the apply command installs the test's .deb (what matters here is the installer, not how its bytes came).
/// </summary>
[Trait("Category", "Network")]
public sealed class InstallerSurvivalTests(ITestOutputHelper output)
{
    private const string Package = "pp-survivor";

    [RootFact] // dpkg --root installs files owned by root
    public async Task NodeKilledWhileDpkgRunsAPostinst_DpkgFinishesThePackage_AndTheRestartedNodeWaitsForIt()
    {
        await using var lan = await DpkgLan.StartAsync(postinstSeconds: 3);

        var pass = await lan.StartPassUntilThePostinstRunsAsync();
        await lan.Node.KillAsync();
        await pass;
        await lan.WaitForTheInstallerToEndAsync();

        var status = await lan.StatusAsync();
        output.WriteLine(status + "\n" + lan.Runs());
        Assert.Contains("Status: install ok installed", status, StringComparison.Ordinal);
        Assert.Contains("configured", lan.Runs(), StringComparison.Ordinal); // the postinst ran past the node's death
        Assert.Contains("postinst: done", await File.ReadAllTextAsync(Path.Combine(lan.Node.DataDir, "work", "install.out")));

        await lan.Node.RestartAsync();
        var again = await lan.Node.UpdateAsync();
        Assert.True(again.ExitCode == 0, again.Stdout + again.Stderr + lan.Node.Output);
        Assert.Contains("Status: install ok installed", await lan.StatusAsync(), StringComparison.Ordinal);
    }

    [RootFact]
    public async Task NodeStoppedWhileDpkgRunsAPostinst_ExitsWithoutWaiting_DpkgFinishes_AndTheNextRunWaitsForTheLock()
    {
        await using var lan = await DpkgLan.StartAsync(postinstSeconds: 8);

        var pass = await lan.StartPassUntilThePostinstRunsAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await lan.Node.StopAsync();
        var stoppedAfter = clock.Elapsed;
        var runsAtStop = lan.Runs();
        var cut = await pass;
        output.WriteLine($"the node exited {stoppedAfter.TotalSeconds:0.0} s after SIGTERM; the pass's CLI: exit {cut.ExitCode} {cut.Stdout}");
        Assert.DoesNotContain("configured", runsAtStop, StringComparison.Ordinal); // it did not wait for the 8 s postinst
        Assert.Contains("is stopping while its installer runs", lan.Node.Output, StringComparison.Ordinal);

        // Restarted at once (systemctl restart): its first pass waits for the earlier dpkg, then installs again.
        await lan.Node.RestartAsync();
        var again = await lan.Node.UpdateAsync();
        output.WriteLine(lan.Runs());
        Assert.True(again.ExitCode == 0, again.Stdout + again.Stderr + lan.Node.Output);
        Assert.Contains("still runs (it holds", lan.Node.Output, StringComparison.Ordinal);
        var runs = lan.Runs().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["configuring", "configured", "configuring", "configured"], runs.Select(l => l.Split(' ')[0]));
        Assert.Contains("Status: install ok installed", await lan.StatusAsync(), StringComparison.Ordinal);
    }

    /// <summary>A server, a node whose feed's apply command is dpkg -i of a package with a slow postinst, and dpkg's throwaway root.</summary>
    private sealed class DpkgLan : IAsyncDisposable
    {
        private readonly TempDir _dir = new();
        private FakeInternet? _internet;
        private NodeProcess? _server;

        public NodeProcess Node { get; private set; } = null!;

        public string Root => _dir.Sub("root");

        public static async Task<DpkgLan> StartAsync(int postinstSeconds)
        {
            var lan = new DpkgLan();
            var deb = await lan.BuildDebAsync(postinstSeconds);
            foreach (var sub in new[] { "info", "updates" })
            {
                Directory.CreateDirectory(Path.Combine(lan.Root, "var", "lib", "dpkg", sub));
            }

            await File.WriteAllTextAsync(Path.Combine(lan.Root, "var", "lib", "dpkg", "status"), "");
            lan._internet = await FakeInternet.StartAsync();
            var file = lan._internet.AddFile("p.bin", 10_000, seed: 3);
            var feed = lan._internet.SetNamedRawFeed("dpkg", JsonSerializer.Serialize(new
            {
                os = Lan.Os,
                patches = new[]
                {
                    new
                    {
                        name = "KB-dpkg",
                        url = new Uri(lan._internet.BaseUri, "files/p.bin").ToString(),
                        sha256 = file.Sha256,
                        size = file.Size,
                        apply = new { command = "dpkg", args = new[] { "--root", lan.Root, "--force-script-chrootless", "-i", deb } },
                    },
                },
            }));
            lan._server = await NodeProcess.StartAsync("server", lan._dir.Sub("server"), "--role", "server");
            lan.Node = await NodeProcess.StartAsync("node", lan._dir.Sub("node"), "--server", lan._server.ServerAddress, "--source", "manifest:" + feed);
            return lan;
        }

        public string Runs() => File.Exists(Path.Combine(Root, "runs.log")) ? File.ReadAllText(Path.Combine(Root, "runs.log")) : string.Empty;

        /// <summary>Starts a pass and returns it once dpkg runs the postinst (within 30 s).</summary>
        public async Task<Task<CliResult>> StartPassUntilThePostinstRunsAsync()
        {
            var pass = Node.UpdateAsync();
            for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); !Runs().Contains("configuring", StringComparison.Ordinal); await Task.Delay(20))
            {
                Assert.True(DateTime.UtcNow < deadline, "dpkg never ran the postinst:\n" + Node.Output);
            }

            return pass;
        }

        /// <summary>Waits (at most 30 s) until nothing holds the node's apply lock: the installer it started has ended.</summary>
        public async Task WaitForTheInstallerToEndAsync()
        {
            var path = Path.Combine(Node.DataDir, "apply.lock");
            for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); ; await Task.Delay(50))
            {
                try
                {
                    using var free = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                    return;
                }
                catch (FileNotFoundException)
                {
                    return; // no installer was ever started
                }
                catch (IOException)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the installer still held the apply lock 30 s after the node died");
                }
            }
        }

        public async Task<string> StatusAsync() =>
            (await ExternalCommand.RunAsync("/", "dpkg", ["--root", Root, "-s", Package], allowFailure: true)).Stdout;

        public async ValueTask DisposeAsync()
        {
            if (Node is not null)
            {
                await WaitForTheInstallerToEndAsync(); // no dpkg left running in the directory about to be deleted
                await Node.DisposeAsync();
            }

            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            if (_internet is not null)
            {
                await _internet.DisposeAsync();
            }

            _dir.Dispose();
        }

        /// <summary>A package with no files and a postinst that prints, sleeps, prints again and records its end.</summary>
        private async Task<string> BuildDebAsync(int postinstSeconds)
        {
            var build = _dir.Sub("build");
            Directory.CreateDirectory(Path.Combine(build, "DEBIAN"));
            await File.WriteAllTextAsync(Path.Combine(build, "DEBIAN", "control"),
                $"Package: {Package}\nVersion: 1.0\nArchitecture: all\nMaintainer: PeerPatch tests <tests@example.invalid>\nDescription: a package whose postinst takes a while\n");
            var postinst = Path.Combine(build, "DEBIAN", "postinst");
            await File.WriteAllTextAsync(postinst,
                "#!/bin/sh\nset -e\n"
                + "echo \"configuring $$\" >> \"$DPKG_ROOT/runs.log\"\n"
                + "echo \"postinst: configuring\"\n"
                + $"sleep {postinstSeconds}\n"
                + "echo \"postinst: done\"\n"
                + "echo \"configured $$\" >> \"$DPKG_ROOT/runs.log\"\n");
            File.SetUnixFileMode(postinst, (UnixFileMode)0b111_101_101);
            var deb = _dir.Sub("survivor.deb");
            await ExternalCommand.RunAsync("/", "dpkg-deb", "--root-owner-group", "--build", build, deb);
            return deb;
        }
    }
}
