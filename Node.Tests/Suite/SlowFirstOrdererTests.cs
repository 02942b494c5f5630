using PeerPatch.Node.Tests.Support;

namespace PeerPatch.Node.Tests.Suite;

/// <summary>The orderer's list of long classes names classes that exist (a renamed class would silently start late).</summary>
public sealed class SlowFirstOrdererTests
{
    [Fact]
    public void EveryLongClassItNames_IsAnIntegrationTestClass()
    {
        var assembly = typeof(SlowFirstOrderer).Assembly;
        foreach (var name in SlowFirstOrderer.Longest)
        {
            var type = assembly.GetType("PeerPatch.Node.Tests.Integration." + name);
            Assert.True(type is not null, $"{name} is not a class in PeerPatch.Node.Tests.Integration");
            Assert.Contains(type.GetMethods(), m => m.GetCustomAttributes(typeof(FactAttribute), inherit: true).Length > 0);
        }
    }
}
