using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Apt;

/// <summary>Rejects a bad <see cref="AptOptions"/> at start-up, naming the setting.</summary>
internal sealed class AptOptionsValidator : IValidateOptions<AptOptions>
{
    public ValidateOptionsResult Validate(string? name, AptOptions o)
    {
        var errors = new List<string>();
        foreach (var upstream in o.AptUpstreams)
        {
            if (!RelayEndpoint.TryParseEntry(upstream, o.ConnectPorts, out _))
            {
                errors.Add($"AptUpstreams: '{upstream}' is not HOST, HOST:PORT or an http(s) URL");
            }
        }

        return OptionChecks.Result(errors);
    }
}
