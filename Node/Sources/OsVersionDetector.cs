using System.Runtime.InteropServices;
using System.Text;

namespace PeerPatch.Node.Sources;

/// <summary>
/// The default OS version key: "{ID}-{VERSION_ID major}-{dpkg arch}" from /etc/os-release on Linux
/// (debian-12-amd64, ubuntu-24.04-amd64), "windows-{build}-{arch}" on Windows.
/// </summary>
internal static class OsVersionDetector
{
    public static string Detect()
    {
        var arch = DpkgArchitecture(RuntimeInformation.OSArchitecture);
        if (OperatingSystem.IsWindows())
        {
            return Sanitize($"windows-{Environment.OSVersion.Version.Build}-{arch}");
        }

        if (OperatingSystem.IsLinux() && File.Exists("/etc/os-release"))
        {
            return FromOsRelease(File.ReadAllText("/etc/os-release"), arch);
        }

        return Sanitize($"{RuntimeInformation.OSDescription.Split(' ')[0]}-{Environment.OSVersion.Version.Major}-{arch}");
    }

    public static string FromOsRelease(string osRelease, string arch)
    {
        var fields = OsReleaseFields(osRelease);
        var id = fields.GetValueOrDefault("ID");
        var version = fields.GetValueOrDefault("VERSION_ID");

        // Debian's minor point releases share one package set; Ubuntu's "24.04" is the release itself.
        if (id == "debian" && version is not null && version.Contains('.', StringComparison.Ordinal))
        {
            version = version[..version.IndexOf('.', StringComparison.Ordinal)];
        }

        return Sanitize($"{id ?? "linux"}-{version ?? "unknown"}-{arch}");
    }

    /// <summary>The KEY=value lines of an os-release file (quotes removed); later lines win.</summary>
    public static Dictionary<string, string> OsReleaseFields(string osRelease)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in osRelease.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[line[..eq]] = line[(eq + 1)..].Trim().Trim('"', '\'');
            }
        }

        return fields;
    }

    public static string DpkgArchitecture(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "i386",
        Architecture.Arm => "armhf",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    private static string Sanitize(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (var c in key.ToLowerInvariant())
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        }

        var result = sb.ToString().Trim('-', '.', '_');
        return result.Length > 64 ? result[..64] : result.Length == 0 ? "unknown" : result;
    }
}
