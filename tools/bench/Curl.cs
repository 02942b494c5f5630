using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>The reference client: curl to /dev/null, its own timing.</summary>
internal static class Curl
{
    /// <summary>Downloads <paramref name="url"/>; returns (seconds, bytes).</summary>
    public static async Task<(double Seconds, long Bytes)> GetAsync(Uri url)
    {
        var (code, output, error) = await Proc.RunAsync("curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}", url.ToString());
        var parts = output.Split(' ');
        if (code != 0 || parts.Length != 3 || parts[2] != "200")
        {
            throw new InvalidOperationException($"curl {url}: exit {code} {output} {error}");
        }

        return (double.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
