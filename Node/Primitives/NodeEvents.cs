using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Primitives;

/// <summary>
/// The node's recent events (elections, pushes, rejected pushes, fallbacks, corrupt blobs, passes) for the
/// dashboard and GET /v1/events: a bounded ring, newest last. Thread-safe.
/// </summary>
internal sealed class NodeEvents(TimeProvider time)
{
    /// <summary>Events kept; older ones are dropped.</summary>
    public const int Capacity = 500;

    private readonly object _lock = new();
    private readonly Queue<NodeEvent> _events = new();

    /// <summary>Adds an event; its text is published, so URL secrets are masked and control characters escaped first.</summary>
    public void Add(string kind, string message)
    {
        message = Protocol.Text.LogText.Sanitize(message);
        var e = new NodeEvent(time.GetUtcNow(), kind, message.Length > 500 ? message[..500] : message);
        lock (_lock)
        {
            if (_events.Count == Capacity)
            {
                _events.Dequeue();
            }

            _events.Enqueue(e);
        }
    }

    /// <summary>The newest <paramref name="max"/> events, oldest first.</summary>
    public IReadOnlyList<NodeEvent> Recent(int max)
    {
        lock (_lock)
        {
            return _events.Skip(Math.Max(0, _events.Count - max)).ToList();
        }
    }

    /// <summary>How many events of a kind the ring holds from <paramref name="since"/> on (at most <see cref="Capacity"/>).</summary>
    public int CountSince(string kind, DateTimeOffset since)
    {
        lock (_lock)
        {
            var n = 0;
            foreach (var e in _events)
            {
                if (e.At >= since && e.Kind == kind)
                {
                    n++;
                }
            }

            return n;
        }
    }
}
