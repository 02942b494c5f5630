using PeerPatch.Node.Hosting;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Sources;

public sealed class SourceChoiceTests
{
    private const string Debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

    [Theory]
    [InlineData(Debian)]
    [InlineData("NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n")]
    [InlineData("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n")]
    [InlineData("ID=raspbian\nID_LIKE=debian\n")]
    public void NoSourceConfigured_OnAPcWithApt_TakesAptAndSaysSo(string osRelease)
    {
        var choice = SourceChoice.Choose([], osRelease, aptGet: true);
        Assert.Equal([new SourceSpec("apt", "")], choice.Sources);
        Assert.Contains("this PC has apt", choice.Note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ID=fedora\nVERSION_ID=40\n", true)]
    [InlineData("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n", true)]
    [InlineData("ID=debianish\nID_LIKE=notdebian\n", true)]
    [InlineData(Debian, false)]
    [InlineData(null, true)]
    public void NoSourceConfigured_WithoutAptOrDebian_ServesTheLanOnly(string? osRelease, bool aptGet)
    {
        var choice = SourceChoice.Choose([], osRelease, aptGet);
        Assert.Empty(choice.Sources);
        Assert.Contains("serving the LAN only", choice.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfiguredSource_Wins_EvenOnAPcWithApt()
    {
        var choice = SourceChoice.Choose(["manifest:http://feeds.example/{os}.json"], Debian, aptGet: true);
        Assert.Equal([new SourceSpec("manifest", "http://feeds.example/{os}.json")], choice.Sources);
        Assert.Null(choice.Note);
    }

    [Fact]
    public void SourceNone_MeansNoSource_EvenOnAPcWithApt()
    {
        var choice = SourceChoice.Choose(["none"], Debian, aptGet: true);
        Assert.Empty(choice.Sources);
        Assert.Contains("serving the LAN only", choice.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void SourceNone_CannotBeCombined()
    {
        var result = new SourcesOptionsValidator().Validate(null, new SourcesOptions { Sources = ["none", "apt"] });
        Assert.True(result.Failed);
        Assert.Contains("none cannot be combined", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new SourcesOptionsValidator().Validate(null, new SourcesOptions { Sources = ["none"] }).Succeeded);
    }

    [Fact]
    public void OnPath_FindsOnlyAnExecutableFile()
    {
        using var dir = new TempDir();
        var bin = dir.Sub("bin");
        var other = dir.Sub("other");
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "apt-get"), "not executable");
        Assert.False(SourceChoice.OnPath("apt-get", bin + Path.PathSeparator + other));
        File.WriteAllText(Path.Combine(bin, "apt-get"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(bin, "apt-get"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.True(SourceChoice.OnPath("apt-get", other + Path.PathSeparator + bin));
        Assert.False(SourceChoice.OnPath("apt-get", null));
    }

    [Fact]
    public void ThisDebianMachine_WithNothingConfigured_UsesApt()
    {
        Assert.True(File.Exists("/etc/os-release") && File.Exists("/usr/bin/apt-get"), "this test runs on the Debian machines of the README");
        var choice = SourceChoice.ForThisMachine([]);
        Assert.Equal("apt", Assert.Single(choice.Sources).Kind);
    }
}
