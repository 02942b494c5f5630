using System.Text.Json;
using PeerPatch.Node.Tests.Support;
using Xunit.Abstractions;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// The local state around an update pass on a disk that fills up: a patch whose apply command succeeded is installed on
/// the PC, whatever happens to the database write after it (PatchPipeline.FinishAsync: MarkApplied runs after the
/// apply command). Its outcome must not say "not applied" (with no bytes and no origin), as a failed record made it do.
/// </summary>
[Trait("Category", "Network")]
public sealed class ApplyRecordTests(ITestOutputHelper output)
{
    [RootFact] // mounting a tmpfs needs root
    public async Task ApplyCommandThatSucceeded_IsReportedApplied_EvenWhenTheDiskIsFullWhenItIsRecorded()
    {
        using var dir = new TempDir();
        var mount = dir.Sub("disk");
        Directory.CreateDirectory(mount);
        await ExternalCommand.RunAsync(dir.Path, "mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", mount);
        try
        {
            await using var internet = await FakeInternet.StartAsync();
            var file = internet.AddFile("f.bin", 2_000_000, seed: 9);
            var feed = internet.SetNamedRawFeed("filling", JsonSerializer.Serialize(new
            {
                os = Lan.Os,
                patches = new[]
                {
                    new
                    {
                        name = "KB-fill",
                        url = new Uri(internet.BaseUri, "files/f.bin").ToString(),
                        sha256 = file.Sha256,
                        size = file.Size,
                        apply = new
                        {
                            command = "/bin/sh",
                            // An installer that succeeds and leaves the disk full (as a big package unpacking does).
                            args = new[] { "-c", "echo installed >> installed.log; cat /dev/zero > ../filler 2>/dev/null; exit 0" },
                        },
                    },
                },
            }));
            await using var server = await NodeProcess.StartAsync("server", dir.Sub("server"), "--role", "server");
            await using var node = await NodeProcess.StartAsync("node", mount, "--server", server.ServerAddress, "--source", "manifest:" + feed);

            var pass = await node.UpdateAsync();
            var outcome = pass.Outcomes.Single();
            output.WriteLine(outcome.ToString());
            Assert.Equal("installed", File.ReadAllText(Path.Combine(mount, "work", "installed.log")).Trim()); // the command ran once and succeeded
            Assert.True(outcome.GetProperty("applied").GetBoolean(), $"the apply command succeeded, but the outcome says: {outcome}");
            Assert.Equal(file.Size, outcome.GetProperty("bytes").GetInt64());
            Assert.Equal("internet", outcome.GetProperty("from").GetString());
            Assert.Contains("recording it as applied failed", node.Output, StringComparison.Ordinal);
        }
        finally
        {
            await ExternalCommand.RunAsync(dir.Path, "umount", ["-l", mount], allowFailure: true);
        }
    }
}
