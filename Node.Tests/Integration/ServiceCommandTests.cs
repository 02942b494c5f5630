using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Integration;

/// <summary>`peerpatch service install` of the published executable on Linux: the .deb installs the service.</summary>
public sealed class ServiceCommandTests
{
    [Fact]
    public async Task ServiceCommand_OnLinux_PointsToTheDebInsteadOfTouchingAnything()
    {
        var result = await NodeProcess.RunCliAsync("service", "install");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("install the .deb", result.Stderr, StringComparison.Ordinal);
    }
}
