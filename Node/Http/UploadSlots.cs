using System.Net;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Http;

/// <summary>
/// The node's blob upload slots (<see cref="HttpOptions.UploadSlots"/>): a GET takes one for as long as it sends, or is
/// told to come back (503, <see cref="RetryAfterSeconds"/>) when none is free. One client address holds at most
/// <see cref="HttpOptions.UploadSlotsPerClient"/> of them, so a PC that asks for many pieces at once (or one that
/// reconnects as soon as it is cut) leaves slots for the others. Never waits.
/// </summary>
internal sealed class UploadSlots(HttpOptions options)
{
    /// <summary>The Retry-After of a 503: one second, long enough for a 1 MiB piece at 100 Mbit/s (0.1 s) to finish elsewhere.</summary>
    public const int RetryAfterSeconds = 1;

    private readonly Lock _gate = new();

    // Slots held per client address; an address leaves the map with its last slot, so it holds at most Capacity entries.
    private readonly Dictionary<IPAddress, int> _byClient = [];
    private int _busy;

    /// <summary>Uploads running now.</summary>
    public int Busy => Volatile.Read(ref _busy);

    /// <summary>The configured number of slots.</summary>
    public int Capacity => options.UploadSlots;

    /// <summary>The most slots one client address may hold: <see cref="HttpOptions.UploadSlotsPerClient"/>, 0 meaning all of them.</summary>
    public int PerClient => options.UploadSlotsPerClient is > 0 and var n && n < options.UploadSlots ? n : options.UploadSlots;

    /// <summary>
    /// Takes a slot for <paramref name="client"/> (dispose the lease to give it back). False when all are taken
    /// (<paramref name="overClientCap"/> false) or when this client already holds <see cref="PerClient"/> (true).
    /// A null client (no IP address) counts against the total only.
    /// </summary>
    public bool TryTake(IPAddress? client, out Lease lease, out bool overClientCap)
    {
        client = client?.Unmapped();
        lock (_gate)
        {
            overClientCap = false;
            lease = default;
            if (_busy >= options.UploadSlots)
            {
                return false;
            }

            if (client is not null)
            {
                _byClient.TryGetValue(client, out var held);
                if (held >= PerClient)
                {
                    overClientCap = true;
                    return false;
                }

                _byClient[client] = held + 1;
            }

            Volatile.Write(ref _busy, _busy + 1);
            lease = new Lease(this, client);
            return true;
        }
    }

    /// <summary>Slots <paramref name="client"/> holds now.</summary>
    public int HeldBy(IPAddress client)
    {
        client = client.Unmapped();
        lock (_gate)
        {
            return _byClient.GetValueOrDefault(client);
        }
    }

    private void Release(IPAddress? client)
    {
        lock (_gate)
        {
            if (client is not null && _byClient.TryGetValue(client, out var held))
            {
                if (held <= 1)
                {
                    _byClient.Remove(client);
                }
                else
                {
                    _byClient[client] = held - 1;
                }
            }

            Volatile.Write(ref _busy, _busy - 1);
        }
    }

    /// <summary>A taken slot.</summary>
    internal readonly struct Lease(UploadSlots? owner, IPAddress? client) : IDisposable
    {
        public void Dispose() => owner?.Release(client);
    }
}
