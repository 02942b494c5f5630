namespace PeerPatch.Node.Sources;

/// <summary>
/// The patch sources a node runs with, and a line for the log about how they were chosen (null: as configured).
/// Configured sources always win. With none configured, a PC that has apt (apt-get on the PATH, and an os-release
/// whose ID or ID_LIKE says Debian or Ubuntu) takes apt as its source; any other PC serves the LAN only. "none"
/// configured means no source, even where apt is present.
/// </summary>
internal sealed record SourceChoice(IReadOnlyList<SourceSpec> Sources, string? Note)
{
    /// <summary>Chooses for this machine: reads /etc/os-release and looks for apt-get on the PATH.</summary>
    public static SourceChoice ForThisMachine(IReadOnlyList<string> configured)
    {
        if (configured.Count > 0)
        {
            return Choose(configured, null, aptGet: false);
        }

        var osRelease = OperatingSystem.IsLinux() && File.Exists("/etc/os-release") ? File.ReadAllText("/etc/os-release") : null;
        return Choose(configured, osRelease, OnPath("apt-get", Environment.GetEnvironmentVariable("PATH")));
    }

    /// <param name="configured">The Sources setting (already validated).</param>
    /// <param name="osRelease">The text of /etc/os-release, or null where there is none.</param>
    /// <param name="aptGet">Whether apt-get is installed.</param>
    public static SourceChoice Choose(IReadOnlyList<string> configured, string? osRelease, bool aptGet)
    {
        if (configured.Count > 0)
        {
            var specs = configured.Select(text => SourceSpec.TryParse(text, out var spec, out _) ? spec : null)
                .OfType<SourceSpec>().Where(s => s.Kind != "none").ToList();
            return new SourceChoice(specs, specs.Count == 0 ? "patch source none: serving the LAN only" : null);
        }

        if (aptGet && osRelease is not null && IsDebianFamily(osRelease))
        {
            return new SourceChoice(
                [new SourceSpec("apt", string.Empty)],
                "no patch source configured and this PC has apt: its pending apt upgrades are the source (Sources, or --source none to serve the LAN only)");
        }

        return new SourceChoice([], "no patch source configured (--source manifest:URL or apt): serving the LAN only");
    }

    /// <summary>True when os-release names Debian or Ubuntu, as the OS (ID) or the one it derives from (ID_LIKE).</summary>
    public static bool IsDebianFamily(string osRelease)
    {
        var fields = OsVersionDetector.OsReleaseFields(osRelease);
        var ids = $"{fields.GetValueOrDefault("ID")} {fields.GetValueOrDefault("ID_LIKE")}".Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return ids.Any(id => id is "debian" or "ubuntu");
    }

    /// <summary>True when an executable file <paramref name="name"/> is in one of the PATH's directories.</summary>
    public static bool OnPath(string name, string? path) =>
        !string.IsNullOrEmpty(path) && path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(dir =>
        {
            var file = Path.Combine(dir, name);
            return File.Exists(file) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
        });
}
