using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.ServerLink;

/// <summary>Rejects a bad <see cref="ServerLinkOptions"/> at start-up, naming the setting.</summary>
internal sealed class ServerLinkOptionsValidator : IValidateOptions<ServerLinkOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerLinkOptions o)
    {
        var errors = new List<string>();
        OptionChecks.Positive(errors, ("LookupTimeout", o.LookupTimeout), ("PolicyRefresh", o.PolicyRefresh));
        return OptionChecks.Result(errors);
    }
}
