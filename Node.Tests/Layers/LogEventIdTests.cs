using System.Reflection;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Tests.Layers;

/// <summary>Log event ids name one kind of line each: a log search or an alert on an id must not match two meanings.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLoggerMessageOfTheNode_HasItsOwnEventId()
    {
        var ids = typeof(PeerPatch.Node.Primitives.NodeStats).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Attribute!.EventId, Name: $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}"))
            .ToList();

        Assert.True(ids.Count > 100, $"only {ids.Count} [LoggerMessage] methods found: the scan is not seeing them");
        var shared = ids.GroupBy(x => x.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Name))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice:\n" + string.Join("\n", shared));
    }
}
