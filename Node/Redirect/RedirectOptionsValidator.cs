using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Redirect;

/// <summary>Rejects a bad <see cref="RedirectOptions"/> at start-up, naming the setting.</summary>
internal sealed class RedirectOptionsValidator : IValidateOptions<RedirectOptions>
{
    public ValidateOptionsResult Validate(string? name, RedirectOptions o)
    {
        var errors = new List<string>();
        if (o.RedirectPort is < 0 or > 65535)
        {
            errors.Add($"RedirectPort {o.RedirectPort} is not a port number (0: never)");
        }

        if (string.IsNullOrWhiteSpace(o.HostsFile))
        {
            errors.Add("HostsFile must be set");
        }

        return OptionChecks.Result(errors);
    }
}
