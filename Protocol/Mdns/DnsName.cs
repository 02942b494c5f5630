using System.Text;

namespace PeerPatch.Protocol.Mdns;

/// <summary>
/// A domain name as its labels. Labels are UTF-8 and may contain dots (DNS-SD instance names do), so a name is
/// never split on '.' except by <see cref="Parse"/>, which is for literal names like "_peerpatch._udp.local".
/// Comparison is case-insensitive for ASCII, as DNS requires.
/// </summary>
public sealed class DnsName : IEquatable<DnsName>
{
    private readonly string[] _labels;

    public DnsName(IEnumerable<string> labels)
    {
        _labels = labels.ToArray();
        var length = 1;
        foreach (var label in _labels)
        {
            var bytes = Encoding.UTF8.GetByteCount(label);
            if (bytes is 0 or > MdnsLimits.MaxLabelBytes)
            {
                throw new DnsFormatException($"label of {bytes} bytes");
            }

            length += bytes + 1;
        }

        if (length > MdnsLimits.MaxNameBytes)
        {
            throw new DnsFormatException($"name of {length} bytes");
        }
    }

    public IReadOnlyList<string> Labels => _labels;

    /// <summary>"a.b.local" to labels a, b, local (no escapes: for literal names).</summary>
    public static DnsName Parse(string dotted) => new(dotted.TrimEnd('.').Split('.'));

    /// <summary>The instance label followed by a service type: "My PC" + "_peerpatch._udp.local".</summary>
    public static DnsName Instance(string instance, DnsName service) => new(service._labels.Prepend(instance));

    /// <summary>This name without its first label.</summary>
    public DnsName Parent() => new(_labels.Skip(1));

    public bool Equals(DnsName? other)
    {
        if (other is null || other._labels.Length != _labels.Length)
        {
            return false;
        }

        for (var i = 0; i < _labels.Length; i++)
        {
            if (!string.Equals(_labels[i], other._labels[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as DnsName);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var label in _labels)
        {
            hash.Add(label, StringComparer.OrdinalIgnoreCase);
        }

        return hash.ToHashCode();
    }

    /// <summary>Dotted form, with '.' and '\' inside labels escaped.</summary>
    public override string ToString() =>
        string.Join('.', _labels.Select(l => l.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(".", "\\.", StringComparison.Ordinal)));
}
