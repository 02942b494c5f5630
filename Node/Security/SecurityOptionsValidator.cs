using Microsoft.Extensions.Options;

namespace PeerPatch.Node.Security;

/// <summary>
/// Rejects a bad <see cref="SecurityOptions"/> at start-up: a key file setting of blanks only (empty means unset).
/// The file itself is checked when <see cref="ClusterKeyFile.Load"/> reads it.
/// </summary>
internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions o) =>
        o.ClusterKeyFile is { Length: > 0 } file && string.IsNullOrWhiteSpace(file)
            ? ValidateOptionsResult.Fail("ClusterKeyFile must name a file, be \"none\", or be left unset")
            : ValidateOptionsResult.Success;
}
