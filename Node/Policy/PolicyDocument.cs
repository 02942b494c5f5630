namespace PeerPatch.Node.Policy;

/// <summary>
/// The LAN's policy as the admin writes it (<c>peerpatch policy set FILE</c>): rings, per-patch approvals and holds,
/// and the internet budget. Parsed strictly by <see cref="PolicyParser"/>; written back by <see cref="PolicyWriter"/>.
/// </summary>
internal sealed record PolicyDocument(RingPolicy Rings, IReadOnlyList<PatchRule> Approved, IReadOnlyList<PatchRule> Held, InternetPolicy Internet)
{
    /// <summary>The defaults a node uses before it ever saw a policy: no rings, no holds, no cap, no windows, no quota.</summary>
    public static PolicyDocument Default { get; } = new(RingPolicy.None, [], [], InternetPolicy.Unlimited);
}

/// <summary>Ring 0 (the PCs that take a patch first) and how long the others wait after it.</summary>
/// <param name="Nodes">Node ids in ring 0.</param>
/// <param name="Hostnames">Hostname globs (<c>*</c>, <c>?</c>; case-insensitive) in ring 0.</param>
/// <param name="RingSettings">Values of the nodes' own <c>Ring</c> setting that mean ring 0.</param>
/// <param name="Delay">How long ring 0 must have had a patch, without a failure, before the others take it. Default 24 h.</param>
internal sealed record RingPolicy(IReadOnlyList<string> Nodes, IReadOnlyList<string> Hostnames, IReadOnlyList<string> RingSettings, TimeSpan Delay)
{
    public static readonly TimeSpan DefaultDelay = TimeSpan.FromHours(24);

    public static RingPolicy None { get; } = new([], [], [], DefaultDelay);

    /// <summary>True when the policy names a ring 0 at all (otherwise every patch is eligible everywhere).</summary>
    public bool HasRing0 => Nodes.Count > 0 || Hostnames.Count > 0 || RingSettings.Count > 0;

    /// <summary>Whether a node with this id, hostname and ring setting is in ring 0.</summary>
    public bool IsRing0(string nodeId, string? hostname, string? ring) =>
        Nodes.Contains(nodeId, StringComparer.Ordinal)
        || (hostname is not null && Hostnames.Any(h => Glob.Matches(h, hostname, ignoreCase: true)))
        || (ring is not null && RingSettings.Contains(ring, StringComparer.Ordinal));
}

/// <summary>An approval or hold: a patch-name glob, for every OS or one OS key.</summary>
internal sealed record PatchRule(string Patch, string? Os)
{
    public bool Matches(string os, string patch) => (Os is null || string.Equals(Os, os, StringComparison.Ordinal)) && Glob.Matches(Patch, patch, ignoreCase: false);

    public override string ToString() => Os is null ? Patch : $"{Patch} ({Os})";
}

/// <summary>The internet budget: LAN-wide rate cap, download windows with an urgent exception, daily quota.</summary>
/// <param name="RateCapBytesPerSecond">LAN-wide internet download rate, bytes/s; 0: no cap. Enforced only by the server.</param>
/// <param name="Windows">When internet downloads may start (server's local time); empty: always.</param>
/// <param name="Urgent">Patch-name glob that may download outside the windows (urgent security fixes); null: none.</param>
/// <param name="DailyQuotaBytes">Internet bytes per local day; 0: no quota.</param>
internal sealed record InternetPolicy(long RateCapBytesPerSecond, IReadOnlyList<DownloadWindow> Windows, string? Urgent, long DailyQuotaBytes)
{
    public static InternetPolicy Unlimited { get; } = new(0, [], null, 0);
}
