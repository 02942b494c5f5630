using System.Net;
using Microsoft.Extensions.Options;
using PeerPatch.Protocol;

namespace PeerPatch.Node.Primitives;

/// <summary>Rejects a bad <see cref="CoreOptions"/> at start-up, naming the setting.</summary>
internal sealed class CoreOptionsValidator : IValidateOptions<CoreOptions>
{
    public ValidateOptionsResult Validate(string? name, CoreOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataDir))
        {
            errors.Add("DataDir must be set");
        }

        if (o.Port is < 0 or > 65535)
        {
            errors.Add($"Port {o.Port} is not a port number");
        }

        if (o.HttpPort is < 1 or > 65535)
        {
            errors.Add($"HttpPort {o.HttpPort} is not a port number");
        }

        if (!IPAddress.TryParse(o.Bind, out _))
        {
            errors.Add($"Bind '{o.Bind}' is not an IP address");
        }

        if (o.Ring is not null && !WireFormat.IsOsVersion(o.Ring))
        {
            errors.Add($"Ring '{o.Ring}' must be 1-64 of [a-z0-9._-]");
        }

        if (o.OsVersion is not null && !WireFormat.IsOsVersion(o.OsVersion))
        {
            errors.Add($"OsVersion '{o.OsVersion}' must be 1-64 of [a-z0-9._-]");
        }

        if (o.CacheCapBytes < 0 || o.CacheCapPercent is < 1 or > 100)
        {
            errors.Add("CacheCapBytes must be >= 0 and CacheCapPercent 1-100");
        }

        if (o.MaxPatchBytes <= 0)
        {
            errors.Add("MaxPatchBytes must be > 0");
        }

        return OptionChecks.Result(errors);
    }
}
