using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Http;

/// <summary>Rejects a bad <see cref="HttpOptions"/> at start-up, naming the setting.</summary>
internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions o)
    {
        var errors = new List<string>();
        if (o.MaxConnectionsPerClient < 0)
        {
            errors.Add("MaxConnectionsPerClient must not be negative (0: no cap)");
        }

        return OptionChecks.Result(errors);
    }
}
