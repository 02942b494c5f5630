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

        if (o.UploadSlots < 1)
        {
            errors.Add("UploadSlots must be at least 1");
        }

        if (o.UploadSlotsPerClient < 0)
        {
            errors.Add("UploadSlotsPerClient must not be negative (0: no share, a client may take every slot)");
        }

        if (o.UploadRateLimit is < 0 or (> 0 and < 65536))
        {
            errors.Add("UploadRateLimit must be 0 (no cap) or at least 65536 bytes per second");
        }

        if (o.UploadStallTimeout < TimeSpan.FromSeconds(1) || o.UploadStallTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("UploadStallTimeout must be between 1 second and 1 hour");
        }

        return OptionChecks.Result(errors);
    }
}
