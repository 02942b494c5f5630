namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A test that builds a LAN of network namespaces: it needs root and iproute2 (tools/test.sh installs iproute2;
/// CI runs as root). Anywhere else it is skipped with that reason, because it cannot run at all.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!NetnsLan.CanRun)
        {
            Skip = "needs root and iproute2 to create network namespaces";
        }
    }
}
