namespace PeerPatch.Node.Tests.Support;

/// <summary>Tests that start real node processes run one class at a time: the machine has two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealProcesses
{
    public const string Name = "real node processes";
}
