using System.Text;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>
/// `peerpatch redirect enable|disable` on hosts files as careless admins and other tools leave them: not UTF-8, a BOM,
/// an old Mac line end, a symlink, a file that cannot be replaced, no file at all. The README promises an atomic,
/// backed-up write and that `redirect disable` gives back the original bytes exactly. A throwaway hosts file each.
/// </summary>
public sealed class RedirectHostsFileTests
{
    private const string Domain = "deb.debian.org";

    [Theory]
    [InlineData("EFBBBF3132372E302E302E31096C6F63616C686F73740A")]       // a UTF-8 BOM (Notepad's "UTF-8 with BOM")
    [InlineData("3132372E302E302E31206C6F63616C686F73740A23204D FC6C6C65720A")] // a Latin-1 comment (an ANSI code page editor)
    [InlineData("3132372E302E302E31206C6F63616C686F73740D")]             // the last line ends with a lone CR
    public async Task EnableThenDisable_GivesBackTheOriginalBytes_WhateverTheirEncoding(string hex)
    {
        using var dir = new TempDir();
        var hosts = dir.Sub("hosts");
        var original = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        await File.WriteAllBytesAsync(hosts, original);

        await RunAsync("enable", "--domain", Domain, "--hosts-file", hosts);
        Assert.Contains($"127.0.0.1 {Domain}", await File.ReadAllTextAsync(hosts), StringComparison.Ordinal);
        await RunAsync("disable", "--hosts-file", hosts);

        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(await File.ReadAllBytesAsync(hosts)));
        Assert.Equal(Convert.ToHexString(original), Convert.ToHexString(await File.ReadAllBytesAsync(hosts + ".peerpatch-backup")));
    }

    [Fact]
    public async Task AHostsFileThatIsASymlink_StaysOne_AndItsTargetGetsTheBlock()
    {
        using var dir = new TempDir();
        var real = dir.Sub("hosts.real"); // /etc/hosts -> /etc/static/hosts (NixOS), -> a config-managed file...
        var hosts = dir.Sub("hosts");
        const string Original = "127.0.0.1 localhost\n";
        await File.WriteAllTextAsync(real, Original);
        File.CreateSymbolicLink(hosts, real);

        await RunAsync("enable", "--domain", Domain, "--hosts-file", hosts);
        Assert.True(new FileInfo(hosts).LinkTarget is not null, "enable replaced the symlink with a regular file");
        Assert.Contains($"127.0.0.1 {Domain}", await File.ReadAllTextAsync(real), StringComparison.Ordinal);

        await RunAsync("disable", "--hosts-file", hosts);
        Assert.True(new FileInfo(hosts).LinkTarget is not null, "disable left a regular file where the symlink was");
        Assert.Equal(Original, await File.ReadAllTextAsync(real));
    }

    [RootFact] // chattr +i needs root
    public async Task AHostsFileThatCannotBeReplaced_IsLeftAsItWas_WithNoStrayFileBesideIt()
    {
        using var dir = new TempDir();
        var hosts = dir.Sub("hosts");
        await File.WriteAllTextAsync(hosts, "127.0.0.1 localhost\n");
        await ExternalCommand.RunAsync(dir.Path, "chattr", "+i", hosts);
        try
        {
            var enable = await NodeProcess.RunCliAsync("redirect", "enable", "--domain", Domain, "--hosts-file", hosts);

            Assert.Equal(2, enable.ExitCode);
            Assert.Equal("127.0.0.1 localhost\n", await File.ReadAllTextAsync(hosts));
            Assert.Equal([hosts, hosts + ".peerpatch-backup"], Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal));
        }
        finally
        {
            await ExternalCommand.RunAsync(dir.Path, "chattr", "-i", hosts);
        }
    }

    [Fact]
    public async Task TheBackup_NeverHoldsThePeerPatchBlock()
    {
        using var dir = new TempDir();
        var hosts = dir.Sub("hosts"); // no hosts file yet (a minimal container): enable creates one

        await RunAsync("enable", "--domain", Domain, "--hosts-file", hosts);
        await RunAsync("enable", "--domain", "security.debian.org", "--hosts-file", hosts);
        await RunAsync("disable", "--hosts-file", hosts);

        var backup = hosts + ".peerpatch-backup";
        Assert.False(File.Exists(backup) && (await File.ReadAllTextAsync(backup)).Contains("peerpatch redirect", StringComparison.Ordinal), "the backup holds PeerPatch's own block: restoring it would redirect again");
    }

    private static async Task RunAsync(params string[] args)
    {
        var result = await NodeProcess.RunCliAsync(["redirect", .. args]);
        Assert.True(result.ExitCode == 0, $"redirect {string.Join(' ', args)}: exit {result.ExitCode}: {result.Stderr}");
    }
}
