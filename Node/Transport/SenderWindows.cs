using System.Collections.Concurrent;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Transport;

/// <summary>
/// Replay protection for sealed one-way datagrams, per sender id. A sender's sequence numbers are
/// (random 24-bit epoch per process start) &lt;&lt; 40 | 40-bit counter: within an epoch each number is accepted once (a
/// <see cref="ReplayWindow"/>); a new epoch (a restart) is accepted, and an epoch once replaced is never accepted
/// again, so recorded heartbeats of an earlier run cannot be played back to a node that saw that run.
/// </summary>
internal sealed class SenderWindows
{
    public const int EpochBits = 24;
    public const int CounterBits = 40;
    public const ulong CounterMask = (1UL << CounterBits) - 1;
    private const int MaxSenders = 4096;
    private const int RememberedEpochs = 16;
    private readonly ConcurrentDictionary<string, Sender> _senders = new(StringComparer.Ordinal);

    public bool TryAccept(string senderId, ulong sequence)
    {
        if (_senders.Count >= MaxSenders && !_senders.ContainsKey(senderId))
        {
            _senders.Clear(); // only key holders get here: this many ids is a misbehaving member, not a LAN
        }

        var sender = _senders.GetOrAdd(senderId, _ => new Sender());
        return sender.TryAccept(sequence);
    }

    private sealed class Sender
    {
        private readonly Lock _lock = new();
        private readonly Queue<uint> _oldEpochs = new();
        private uint? _epoch;
        private ReplayWindow _window = new();

        public bool TryAccept(ulong sequence)
        {
            var epoch = (uint)(sequence >> CounterBits);
            lock (_lock)
            {
                if (epoch != _epoch)
                {
                    if (_oldEpochs.Contains(epoch))
                    {
                        return false;
                    }

                    if (_epoch is { } old)
                    {
                        _oldEpochs.Enqueue(old);
                        if (_oldEpochs.Count > RememberedEpochs)
                        {
                            _oldEpochs.Dequeue();
                        }
                    }

                    _epoch = epoch;
                    _window = new ReplayWindow();
                }

                return _window.TryAccept(sequence);
            }
        }
    }
}
