namespace PeerPatch.Node.Updating;

/// <summary>The stages of one patch in <see cref="TransferProgress.Stage"/> (the CLI shows lan, internet and waiting).</summary>
internal static class ProgressStage
{
    public const string Lookup = "lookup";
    public const string Lan = "lan";
    public const string Internet = "internet";
    public const string Waiting = "waiting";
    public const string Verifying = "verifying";
    public const string Applying = "applying";
}
