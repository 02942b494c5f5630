using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Sources;

/// <summary>
/// `--source apt`: the OS's own pending upgrades, taken from apt itself. A pass runs `apt-get update`, then
/// `apt-get --print-uris -qq -y dist-upgrade` against an empty archives directory (each pending .deb's URL, file name
/// and size, also of those apt already holds). apt 2.6 prints an MD5 there, so
/// the SHA-256 comes from apt's own verified Packages lists, read through apt (<see cref="AptListHashes"/>) whatever
/// their compression. Each file then goes through the LAN like any patch and is verified against that SHA-256;
/// "applying" it hands the verified file to apt's archive cache (a staging step, also done in a dry run). At the end
/// of the pass apt installs from that cache with `apt-get -y dist-upgrade`, checking every hash again itself; a dry
/// run stops before that. A package without a trustworthy SHA-256 is never skipped quietly: it is listed as
/// unverifiable, and the pass counts it failed with the reason. APT_CONFIG (<see cref="SourcesOptions.AptConfigFile"/>)
/// lets it work on any apt configuration root.
/// </summary>
internal sealed partial class AptSource(SourcesOptions options, CoreOptions core, AptCommands apt, AptListHashes lists, InstallRunner installer, TimeProvider time, ILogger<AptSource> logger) : IPatchSource
{
    public string Description => options.AptConfigFile is { } f ? $"apt ({f})" : "apt";

    public async Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct)
    {
        if (options.AptUpdateLists)
        {
            var update = await apt.RunAsync("apt-get", ["update", "-qq"], ct).ConfigureAwait(false);
            if (!update.Ok && update.Failure is null && IsLocked(update.Error))
            {
                // Another apt (unattended-upgrades, an admin) is updating the same lists right now: they are as fresh as
                // ours would be, and apt replaces each list whole (partial/ and rename), so they are read as they are.
                Log.ListsLocked(logger, AptCommands.Tail(update.Error));
            }
            else if (!update.Ok)
            {
                throw new PatchSourceException($"apt-get update failed: {update.Describe()}");
            }
        }

        var archives = await ConfigAsync("Dir::Cache::archives/d", ct).ConfigureAwait(false);
        // apt prints no URI for a package whose .deb is already in its archive cache (an earlier pass staged it but its
        // install failed; unattended-upgrades downloaded it in the background): listed against an empty archives
        // directory, every pending upgrade is printed, so none is skipped and the install step runs for it.
        var list = await PrintUrisAsync(ct).ConfigureAwait(false);
        if (!list.Ok)
        {
            throw new PatchSourceException($"apt-get --print-uris dist-upgrade failed: {list.Describe()}");
        }

        var (downloads, rejected) = AptPrintUris.Read(list.Output);
        var lookup = new AptListLookup(new Dictionary<string, AptListedFile>(), [], 0);
        var unhashed = downloads.Where(d => d.Sha256 is null).ToList();
        if (unhashed.Count > 0)
        {
            var started = time.GetTimestamp();
            lookup = await lists.FindAsync(unhashed.Select(d => d.Url), ct).ConfigureAwait(false);
            foreach (var error in lookup.Errors)
            {
                Log.ListProblem(logger, error);
            }

            Log.ListsRead(logger, lookup.ListsRead, lookup.Files.Count, unhashed.Count, (long)time.GetElapsedTime(started).TotalMilliseconds);
        }

        var patches = new List<PatchSpec>();
        foreach (var d in downloads)
        {
            var name = PatchName(d);
            if (Sha256Of(d, lookup) is { } sha)
            {
                patches.Add(new PatchSpec(
                    osVersion, name, d.Url, sha, d.Size,
                    new ApplySpec("/bin/cp", ["--", "{file}", Path.Combine(archives, d.Filename)], TimeSpan.FromMinutes(5), Stages: true)));
            }
            else
            {
                patches.Add(Unverifiable(osVersion, name, d.Url, d.Size, Reason(d, lookup)));
            }
        }

        foreach (var (file, reason) in rejected)
        {
            patches.Add(Unverifiable(osVersion, file.Length > 200 ? file[..200] : file, new Uri("about:blank"), 0, $"not shared: {reason}"));
        }

        Log.Listed(logger, patches.Count, patches.Count(p => p.Unverifiable is null), archives);
        return patches;
    }

    public async Task<string?> CompletePassAsync(IReadOnlyList<PatchOutcome> outcomes, bool dryRun, CancellationToken ct)
    {
        if (dryRun)
        {
            Log.DryRun(logger, outcomes.Count(o => o.DryRun && o.Error is null));
            return null;
        }

        var staged = outcomes.Count(o => o.Applied);
        if (staged == 0)
        {
            return null;
        }

        // Started, the install runs to its end or ApplyTimeout, whatever happens to the pass (a CLI that gives up, the
        // pass deadline): killing dpkg halfway would leave the PC half-upgraded.
        // DPkg::Lock::Timeout (apt 1.9.11+; older apt ignores it): another dpkg frontend (unattended-upgrades, an admin's
        // apt) is waited for, up to a third of ApplyTimeout, instead of failing at once; the rest is left to the install.
        // Through the installer runner: under the apply lock, and it outlives this node (a stop, or the postinst of a
        // PeerPatch upgrade that this very install brings, restarts the node).
        // --no-download --ignore-missing: apt installs only what the node staged, verified (apt's manual: "best used
        // with --ignore-missing to force APT to use only the .debs it has already downloaded"); a package the pass held
        // (policy, ring, download window), failed or could not verify is kept back, never fetched by apt itself.
        var install = await installer.RunAsync(
            "apt-get dist-upgrade",
            "apt-get",
            ["-y", "-q", "--no-download", "--ignore-missing", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", $"DPkg::Lock::Timeout={LockWaitSeconds}", "dist-upgrade"],
            apt.Environment,
            options.ApplyTimeout,
            options.ApplyTimeout,
            ct).ConfigureAwait(false); // ct ends only the wait for the apply lock: a started install runs to its end
        if (!install.Ok)
        {
            return $"apt-get dist-upgrade {install.Error}";
        }

        Log.Installed(logger, staged);
        return null;
    }

    public async Task<IReadOnlyDictionary<string, string>> NotInstalledAsync(IReadOnlyList<PatchOutcome> staged, CancellationToken ct)
    {
        // dpkg's database (the one apt installs into) says what is installed: apt-get exits 0 with a package kept back
        // (a hold, a dependency it could not meet).
        var status = await ConfigAsync("Dir::State::status/f", ct).ConfigureAwait(false);
        var query = await apt.RunAsync("dpkg-query", [$"--admindir={Path.GetDirectoryName(status)}", "-W", "-f", "${binary:Package} ${Architecture} ${Version} ${db:Status-Abbrev}\\n"], ct).ConfigureAwait(false);
        if (!query.Ok)
        {
            return staged.ToDictionary(o => o.Patch, _ => $"apt-get dist-upgrade ran, but whether it installed this is unknown: {query.Describe()}", StringComparer.Ordinal);
        }

        var installed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in query.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 4 && f[3] is "ii" or "hi") // installed (held or not), not half-done or config files only
            {
                var version = f[2].IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? f[2][(colon + 1)..] : f[2];
                installed.Add($"{f[0].Split(':')[0]}_{version}_{f[1]}.deb"); // the archive's file name: no epoch
            }
        }

        return staged.Where(o => !installed.Contains(o.Patch))
            .ToDictionary(o => o.Patch, _ => "staged, but apt-get dist-upgrade did not install it (kept back: a hold or a dependency)", StringComparer.Ordinal);
    }

    /// <summary>`apt-get --print-uris dist-upgrade` against an empty archives directory: every pending .deb.</summary>
    private async Task<AptCommandResult> PrintUrisAsync(CancellationToken ct)
    {
        // Under the node's own data directory (not TMPDIR, which may be missing or not ours), one per listing.
        var empty = Path.Combine(Path.GetFullPath(core.DataDir), "work", "apt-empty-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(empty, "partial"));
            return await apt.RunAsync("apt-get", ["--print-uris", "-qq", "-y", "-o", $"Dir::Cache::archives={empty}/", "dist-upgrade"], ct).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(empty))
            {
                Directory.Delete(empty, recursive: true);
            }
        }
    }

    /// <summary>Seconds apt-get waits for dpkg's lock: a third of <see cref="SourcesOptions.ApplyTimeout"/>, at least 1.</summary>
    private long LockWaitSeconds => Math.Max(1, (long)Math.Min(options.ApplyTimeout.TotalSeconds / 3, int.MaxValue));

    /// <summary>apt's message when another process holds one of its locks ("Could not get lock ...").</summary>
    private static bool IsLocked(string error) => error.Contains("Could not get lock", StringComparison.Ordinal);

    /// <summary>
    /// A package's patch name: its file name as the archive writes it (<see cref="Protocol.Apt.ArchivePath.FileName"/>
    /// of the URL's canonical path: `+` and `:` as they are, however apt escaped them), the name the apt proxy gives
    /// it too, so both ways to the LAN share one patch. apt's local file name (with an epoch as %3a) when refused.
    /// </summary>
    internal static string PatchName(AptDownload d) =>
        Protocol.Apt.ArchivePath.TryCanonicalize(d.Url.AbsolutePath, out var path) && Protocol.Apt.ArchivePath.FileName(path) is var name && Protocol.WireFormat.IsPatchName(name)
            ? name
            : d.Filename;

    private static string? Sha256Of(AptDownload d, AptListLookup lookup) =>
        d.Sha256 ?? (AptListHashes.Key(d.Url) is { } key && lookup.Files.TryGetValue(key, out var f) && !f.Conflict && f.Size == d.Size ? f.Sha256 : null);

    private static string Reason(AptDownload d, AptListLookup lookup)
    {
        if (AptListHashes.Key(d.Url) is not { } key || !lookup.Files.TryGetValue(key, out var f))
        {
            var problems = lookup.Errors.Count == 0 ? "" : $"; {lookup.Errors.Count} lists could not be used: {AptCommands.Tail(lookup.Errors[0])}";
            return $"not shared: no SHA-256 for it in apt's trusted Packages lists ({lookup.ListsRead} read{problems})";
        }

        return f.Conflict
            ? "not shared: apt's lists give it different SHA-256 sums"
            : $"not shared: apt's lists give it {f.Size} bytes, apt-get {d.Size}";
    }

    /// <summary>A listed package without a trustworthy SHA-256: the pass reports it failed with the reason (and logs it).</summary>
    private static PatchSpec Unverifiable(string osVersion, string name, Uri url, long size, string reason) =>
        new(osVersion, name, url, string.Empty, size, new ApplySpec("/bin/false", [], null), reason);

    private async Task<string> ConfigAsync(string key, CancellationToken ct)
    {
        var r = await apt.RunAsync("apt-config", ["shell", "V", key], ct).ConfigureAwait(false);
        var line = r.Output.Trim();
        if (!r.Ok || !line.StartsWith("V='", StringComparison.Ordinal) || !line.EndsWith('\''))
        {
            throw new PatchSourceException($"apt-config cannot tell {key}: {(r.Ok ? AptCommands.Tail(line) : r.Describe())}");
        }

        return Unquote(line[2..]);
    }

    /// <summary>
    /// apt-config shell's value: one single-quoted shell word, a quote inside written as <c>'\''</c> (close, escaped
    /// quote, reopen). ConfigAsync has checked that it starts and ends with a quote.
    /// </summary>
    internal static string Unquote(string quoted) => quoted[1..^1].Replace("'\\''", "'", StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(EventId = 450, Level = LogLevel.Information, Message = "apt lists {Count} packages to upgrade, {Verifiable} with a SHA-256 (archive cache {Archives})")]
        public static partial void Listed(ILogger logger, int count, int verifiable, string archives);

        [LoggerMessage(EventId = 452, Level = LogLevel.Information, Message = "dry run: {Count} verified packages are in apt's archive cache; not installing")]
        public static partial void DryRun(ILogger logger, int count);

        [LoggerMessage(EventId = 456, Level = LogLevel.Warning, Message = "apt-get update: another apt holds the lists' lock ({Error}); using the lists as they are")]
        public static partial void ListsLocked(ILogger logger, string error);

        [LoggerMessage(EventId = 453, Level = LogLevel.Information, Message = "apt-get dist-upgrade installed the {Count} staged packages")]
        public static partial void Installed(ILogger logger, int count);

        [LoggerMessage(EventId = 454, Level = LogLevel.Warning, Message = "apt's Packages lists: {Problem}")]
        public static partial void ListProblem(ILogger logger, string problem);

        [LoggerMessage(EventId = 455, Level = LogLevel.Information, Message = "read {Lists} Packages lists through apt: {Found} of {Wanted} SHA-256 sums found in {Milliseconds} ms")]
        public static partial void ListsRead(ILogger logger, int lists, int found, int wanted, long milliseconds);
    }
}
