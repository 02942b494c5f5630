using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Sources;

/// <summary>
/// `--source apt`: the OS's own pending upgrades, taken from apt itself. A pass runs `apt-get update`, then
/// `apt-get --print-uris -qq -y dist-upgrade` (each .deb's URL, file name, size and SHA-256; the patch name is the file
/// name). Each file then goes through the LAN like any patch and is verified against apt's hash; "applying" it
/// hands the verified file to apt's archive cache (a staging step, also done in a dry run). At the end of the pass
/// apt installs from that cache with `apt-get -y dist-upgrade`, checking every hash again itself; a dry run stops
/// before that. APT_CONFIG (<see cref="NodeOptions.AptConfigFile"/>) lets it work on any apt configuration root.
/// </summary>
internal sealed partial class AptSource(NodeOptions options, ILogger<AptSource> logger) : IPatchSource
{
    private static readonly TimeSpan ListTimeout = TimeSpan.FromMinutes(10);

    public string Description => options.AptConfigFile is { } f ? $"apt ({f})" : "apt";

    public async Task<IReadOnlyList<PatchSpec>> GetPatchesAsync(string osVersion, CancellationToken ct)
    {
        if (options.AptUpdateLists)
        {
            var update = await RunAptAsync(["update", "-qq"], ListTimeout, ct).ConfigureAwait(false);
            if (update.ExitCode != 0)
            {
                throw new PatchSourceException($"apt-get update failed ({update.ExitCode}): {Tail(update.Error)}");
            }
        }

        var archives = await RunAptConfigAsync("Dir::Cache::archives/d", ct).ConfigureAwait(false);
        var list = await RunAptAsync(["--print-uris", "-qq", "-y", "dist-upgrade"], ListTimeout, ct).ConfigureAwait(false);
        if (list.ExitCode != 0)
        {
            throw new PatchSourceException($"apt-get --print-uris dist-upgrade failed ({list.ExitCode}): {Tail(list.Error)}");
        }

        var (downloads, errors) = AptPrintUris.Parse(list.Output);
        var known = downloads.Any(d => d.Sha256 is null) ? await ListedHashesAsync(ct).ConfigureAwait(false) : [];
        var patches = new List<PatchSpec>();
        foreach (var d in downloads)
        {
            var sha = d.Sha256 ?? Find(known, d);
            if (sha is null)
            {
                errors = [.. errors, $"{d.Filename}: no SHA-256 for it in apt's lists"];
                continue;
            }

            patches.Add(new PatchSpec(
                osVersion, d.Filename, d.Url, sha, d.Size,
                new ApplySpec("/bin/cp", ["--", "{file}", Path.Combine(archives, d.Filename)], TimeSpan.FromMinutes(5), Stages: true)));
        }

        foreach (var error in errors)
        {
            Log.Skipped(logger, error);
        }

        Log.Listed(logger, patches.Count, archives);
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

        var install = await RunAptAsync(
            ["-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "dist-upgrade"], options.ApplyTimeout, ct).ConfigureAwait(false);
        if (install.ExitCode != 0)
        {
            return $"apt-get dist-upgrade failed ({install.ExitCode}): {Tail(install.Error + install.Output)}";
        }

        Log.Installed(logger, staged);
        return null;
    }

    /// <summary>
    /// Filename -> (SHA-256, size) from the Packages lists apt downloaded and verified against its Release files
    /// (plain or gzip lists; others are skipped).
    /// </summary>
    private async Task<Dictionary<string, (string Sha256, long Size)>> ListedHashesAsync(CancellationToken ct)
    {
        var lists = await RunAptConfigAsync("Dir::State::lists/d", ct).ConfigureAwait(false);
        var known = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(lists).Where(f => f.EndsWith("_Packages", StringComparison.Ordinal) || f.EndsWith("_Packages.gz", StringComparison.Ordinal)))
        {
            await using var stream = File.OpenRead(file);
            await using var text = file.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress) : (Stream)stream;
            using var reader = new StreamReader(text);
            foreach (var p in Apt.AptPackagesParser.Parse(reader))
            {
                known[p.Filename] = (p.Sha256, p.Size);
            }
        }

        return known;
    }

    /// <summary>The list entry whose Filename ends the download's URL and whose size matches.</summary>
    private static string? Find(Dictionary<string, (string Sha256, long Size)> known, AptDownload d)
    {
        var path = Uri.UnescapeDataString(d.Url.AbsolutePath);
        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            if (known.TryGetValue(path[(slash + 1)..], out var e) && e.Size == d.Size)
            {
                return e.Sha256;
            }
        }

        return null;
    }

    private async Task<string> RunAptConfigAsync(string key, CancellationToken ct)
    {
        var r = await RunAsync("apt-config", ["shell", "V", key], TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var line = r.Output.Trim();
        if (r.ExitCode != 0 || !line.StartsWith("V='", StringComparison.Ordinal) || !line.EndsWith('\''))
        {
            throw new PatchSourceException($"apt-config cannot tell {key}: {Tail(r.Error + line)}");
        }

        return line[3..^1];
    }

    private Task<(int ExitCode, string Output, string Error)> RunAptAsync(string[] args, TimeSpan timeout, CancellationToken ct) =>
        RunAsync("apt-get", args, timeout, ct);

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] args, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        if (options.AptConfigFile is { } config)
        {
            psi.Environment["APT_CONFIG"] = config;
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PatchSourceException($"{file} cannot be run here: {e.Message}");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(ct);
            var error = process.StandardError.ReadToEndAsync(ct);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new PatchSourceException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
            }

            return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
        }
    }

    private static string Tail(string text) => text.Length > 2000 ? text[^2000..].Trim() : text.Trim();

    private static partial class Log
    {
        [LoggerMessage(EventId = 450, Level = LogLevel.Information, Message = "apt lists {Count} packages to upgrade (archive cache {Archives})")]
        public static partial void Listed(ILogger logger, int count, string archives);

        [LoggerMessage(EventId = 451, Level = LogLevel.Warning, Message = "apt download skipped: {Error}")]
        public static partial void Skipped(ILogger logger, string error);

        [LoggerMessage(EventId = 452, Level = LogLevel.Information, Message = "dry run: {Count} verified packages are in apt's archive cache; not installing")]
        public static partial void DryRun(ILogger logger, int count);

        [LoggerMessage(EventId = 453, Level = LogLevel.Information, Message = "apt-get dist-upgrade installed the {Count} staged packages")]
        public static partial void Installed(ILogger logger, int count);
    }
}
