namespace PeerPatch.Protocol.Status;

/// <summary>GET /v1/events: something that happened on a node (newest last).</summary>
/// <param name="Kind">One of <see cref="NodeEventKinds"/>.</param>
public sealed record NodeEvent(DateTimeOffset At, string Kind, string Message);

/// <summary>The kinds of <see cref="NodeEvent"/>.</summary>
public static class NodeEventKinds
{
    public const string Election = "election";
    public const string Push = "push";
    public const string PushRejected = "push-rejected";
    public const string Fallback = "fallback";
    public const string Pass = "pass";
}
