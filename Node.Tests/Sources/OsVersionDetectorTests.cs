using System.Runtime.InteropServices;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

public sealed class OsVersionDetectorTests
{
    [Theory]
    [InlineData("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "debian-12-amd64")]
    [InlineData("ID=debian\nVERSION_ID=\"12.5\"\n", "debian-12-amd64")]
    [InlineData("NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n", "ubuntu-24.04-amd64")]
    [InlineData("ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n", "opensuse-leap-15.5-amd64")]
    [InlineData("", "linux-unknown-amd64")]
    public void OsRelease_BecomesAKey(string osRelease, string expected) =>
        Assert.Equal(expected, OsVersionDetector.FromOsRelease(osRelease, "amd64"));

    [Theory]
    [InlineData(Architecture.X64, "amd64")]
    [InlineData(Architecture.Arm64, "arm64")]
    [InlineData(Architecture.X86, "i386")]
    public void Architectures_UseDebianNames(Architecture architecture, string expected) =>
        Assert.Equal(expected, OsVersionDetector.DpkgArchitecture(architecture));

    [Fact]
    public void ThisMachinesKey_IsAValidWireKey() => Assert.True(PeerPatch.Protocol.WireFormat.IsOsVersion(OsVersionDetector.Detect()));
}
