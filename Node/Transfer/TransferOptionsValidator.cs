using Microsoft.Extensions.Options;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Transfer;

/// <summary>Rejects a bad <see cref="TransferOptions"/> at start-up, naming the setting.</summary>
internal sealed class TransferOptionsValidator : IValidateOptions<TransferOptions>
{
    public ValidateOptionsResult Validate(string? name, TransferOptions o)
    {
        var errors = new List<string>();
        if (o.InternetMinBytesPerSecond is < 0 or > 1L << 30)
        {
            errors.Add("InternetMinBytesPerSecond must be 0-1073741824");
        }

        if (o.LanMinBytesPerWindow is < 1 or > 1L << 30)
        {
            errors.Add("LanMinBytesPerWindow must be 1-1073741824");
        }

        if (o.LanBusyWaitMax > TimeSpan.FromHours(24))
        {
            errors.Add("LanBusyWaitMax must be at most 24 h");
        }

        // At least a second: each hand-back costs the server a lookup and the holders a piece list and a request each.
        if (o.LanBusyAskAgain != TimeSpan.Zero && (o.LanBusyAskAgain < TimeSpan.FromSeconds(1) || o.LanBusyAskAgain > o.LanBusyWaitMax))
        {
            errors.Add("LanBusyAskAgain must be 0 (never) or 1 s up to LanBusyWaitMax");
        }

        if (o.InternetAttempts is < 1 or > 20)
        {
            errors.Add("InternetAttempts must be 1-20");
        }

        if (o.PiecesInFlight is < 1 or > 64)
        {
            errors.Add("PiecesInFlight must be 1-64");
        }

        if (o.PiecesPerSource is < 1 or > 16)
        {
            errors.Add("PiecesPerSource must be 1-16");
        }

        OptionChecks.Positive(
            errors,
            ("LanStallTimeout", o.LanStallTimeout),
            ("LanBusyWaitMax", o.LanBusyWaitMax),
            ("InternetStallTimeout", o.InternetStallTimeout),
            ("InternetConnectTimeout", o.InternetConnectTimeout),
            ("InternetHeadersTimeout", o.InternetHeadersTimeout));
        return OptionChecks.Result(errors);
    }
}
