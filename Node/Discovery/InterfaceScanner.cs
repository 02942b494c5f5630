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
            all.Add((new MdnsInterface(nic.Name, index.Value, v4.Address), loopback, nic.SupportsMulticast || HasMulticastFlag(nic.Name)));
        }

        if (wanted.Count > 0)
        {
            return all.Where(a => wanted.Contains(a.Interface.Name, StringComparer.Ordinal)).Select(a => a.Interface).ToList();
        }

        var chosen = all.Where(a => a.Multicast && !a.Loopback).Select(a => a.Interface).ToList();
        return chosen.Count > 0 ? chosen : all.Where(a => a.Loopback).Select(a => a.Interface).ToList();
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
