using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Cluster;

/// <summary>Rejects a bad <see cref="ClusterOptions"/> at start-up, naming the setting.</summary>
internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions o)
    {
        var errors = new List<string>();
        if (o.Server is not null && !HostPort.TryParse(o.Server, out _, out _))
        {
            errors.Add($"Server '{o.Server}' is not HOST:PORT");
        }

        if (o.Role == RoleSetting.Client && o.Server is null)
        {
            errors.Add("Role client needs Server (--server HOST:PORT)");
        }

        if (o.MdnsPort is < 1 or > 65535)
        {
            errors.Add($"MdnsPort {o.MdnsPort} is not a port number");
        }

        if (o.Priority is < 0)
        {
            errors.Add("Priority must not be negative");
        }

        return OptionChecks.Result(errors);
    }
}
