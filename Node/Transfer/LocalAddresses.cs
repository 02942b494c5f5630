using System.Net;
using System.Net.NetworkInformation;

namespace PeerPatch.Node.Transfer;

/// <summary>
/// This machine's own addresses on every interface, enumerated again when the system reports an address change and
/// at least every <see cref="MaxAge"/> (an interface that came up later is never missed for long).
/// </summary>
internal sealed class LocalAddresses : IDisposable
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private HashSet<IPAddress> _addresses = [];
    private long _takenAt = long.MinValue;

    public LocalAddresses(TimeProvider time)
    {
        _time = time;
        NetworkChange.NetworkAddressChanged += OnChanged;
    }

    /// <summary>True for an address that reaches this machine: loopback, unspecified, or one of its interfaces' addresses.</summary>
    public bool IsThisMachine(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        else if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }

        return IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || Current().Contains(address);
    }

    public void Dispose() => NetworkChange.NetworkAddressChanged -= OnChanged;

    private HashSet<IPAddress> Current()
    {
        lock (_lock)
        {
            if (_takenAt == long.MinValue || _time.GetElapsedTime(_takenAt) >= MaxAge)
            {
                var set = new HashSet<IPAddress>();
                try
                {
                    foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                    {
                        foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                        {
                            set.Add(unicast.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && unicast.Address.ScopeId != 0 ? new IPAddress(unicast.Address.GetAddressBytes()) : unicast.Address);
                        }
                    }
                }
                catch (NetworkInformationException)
                {
                    // keep what we had
                    set.UnionWith(_addresses);
                }

                _addresses = set;
                _takenAt = _time.GetTimestamp();
            }

            return _addresses;
        }
    }

    private void OnChanged(object? sender, EventArgs e)
    {
        lock (_lock)
        {
            _takenAt = long.MinValue;
        }
    }
}
