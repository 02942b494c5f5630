using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Picks the interfaces mDNS runs on. .NET reports SupportsMulticast=false for Linux loopback even when the
/// kernel accepts multicast there, so on Linux the IFF_MULTICAST flag is read from /sys/class/net/NAME/flags.
/// </summary>
internal static class InterfaceScanner
{
    private const int IffMulticast = 0x1000;

    public static IReadOnlyList<MdnsInterface> Scan(IReadOnlyList<string> wanted)
    {
        var all = new List<(MdnsInterface Interface, bool Loopback, bool Multicast)>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown))
            {
                continue;
            }

            var properties = nic.GetIPProperties();
            var v4 = properties.UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork);
            var index = properties.GetIPv4Properties()?.Index;
            if (v4 is null || index is null)
            {
                continue;
            }

            var loopback = nic.NetworkInterfaceType == NetworkInterfaceType.Loopback;
            var v6 = loopback || !Socket.OSSupportsIPv6
                ? []
                : properties.UnicastAddresses.Select(a => a.Address)
                    .Where(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !IsTentative(nic.Name, a))
                    .OrderByDescending(a => a.IsIPv6LinkLocal).ToList();
            if (v6.Count > 0 && !v6[0].IsIPv6LinkLocal)
            {
                v6 = []; // no link-local address (yet): IPv6 mDNS waits for the next scan
            }

            all.Add((new MdnsInterface(nic.Name, index.Value, v4.Address, v6), loopback, nic.SupportsMulticast || HasMulticastFlag(nic.Name)));
        }

        if (wanted.Count > 0)
        {
            return all.Where(a => wanted.Contains(a.Interface.Name, StringComparer.Ordinal)).Select(a => a.Interface).ToList();
        }

        var chosen = all.Where(a => a.Multicast && !a.Loopback).Select(a => a.Interface).ToList();
        return chosen.Count > 0 ? chosen : all.Where(a => a.Loopback).Select(a => a.Interface).ToList();
    }

    /// <summary>An address still in duplicate address detection cannot be bound yet (Linux: /proc/net/if_inet6 flag 0x40).</summary>
    private static bool IsTentative(string name, System.Net.IPAddress address)
    {
        const string path = "/proc/net/if_inet6";
        if (!OperatingSystem.IsLinux() || !File.Exists(path))
        {
            return false;
        }

        var hex = Convert.ToHexStringLower(address.GetAddressBytes());
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 6 && f[0] == hex && f[5] == name
                && int.TryParse(f[4], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags))
            {
                return (flags & 0x40) != 0;
            }
        }

        return false;
    }

    private static bool HasMulticastFlag(string name)
    {
        var path = $"/sys/class/net/{name}/flags";
        if (!OperatingSystem.IsLinux() || !File.Exists(path))
        {
            return false;
        }

        var text = File.ReadAllText(path).Trim();
        return int.TryParse(text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags)
            && (flags & IffMulticast) != 0;
    }
}
