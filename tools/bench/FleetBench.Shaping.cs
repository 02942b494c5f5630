using System.Globalization;

namespace PeerPatch.Bench;

/// <summary>The shaped fleet's checks: that the tc shaping does what it says, and what each node counted as served.</summary>
internal sealed partial class FleetBench
{
    private const string ShapeCheckFile = "shape-check.bin"; // not a .deb: not counted as a patch in the upstream's log
    private const int ShapeCheckBytes = 40_000_000;
    private static readonly HttpClient Metrics = new() { Timeout = TimeSpan.FromSeconds(15) };

    /// <summary>
    /// Measures the shaping with curl (40 MB each): one PC from the internet (its download cap), three PCs from the
    /// internet at once (the shared uplink), and two PCs at once from an nginx in PC 1 (PC 1's upload cap). MB/s.
    /// </summary>
    public async Task<(double OnePc, double Uplink, double OnePcUpload)> ShapeCheckAsync()
    {
        var one = await CurlRatesAsync([1], _upstream.BaseUri);
        var three = await CurlRatesAsync([1, 2, 3], _upstream.BaseUri);
        var pc1 = await Nginx.StartAsync(Path.Combine(_work, "shape-check-nginx"), Path.Combine(_work, "upstream-www"), _lan.Address(1), 8081, _lan.Namespace(1));
        try
        {
            var upload = await CurlRatesAsync([2, 3], pc1.BaseUri);
            return (one, three, upload);
        }
        finally
        {
            await pc1.StopAsync();
        }
    }

    /// <summary>PCs <paramref name="pcs"/> each curl the check file at once: bytes over the time to the last done, MB/s.</summary>
    private async Task<double> CurlRatesAsync(int[] pcs, Uri from)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = await Task.WhenAll(pcs.Select(k => _lan.ExecAsync(k, "curl", "-sSf", "-o", "/dev/null", "-w", "%{size_download}", new Uri(from, ShapeCheckFile).ToString())));
        var seconds = clock.Elapsed.TotalSeconds;
        if (results.FirstOrDefault(r => r.Code != 0) is { Code: not 0 } bad)
        {
            throw new InvalidOperationException($"shape check: curl exit {bad.Code}: {bad.Err}");
        }

        return results.Sum(r => long.Parse(r.Out, CultureInfo.InvariantCulture)) / seconds / 1e6;
    }

    /// <summary>
    /// What PC <paramref name="k"/>'s node counted as sent to the LAN of kind <paramref name="kind"/> (its /metrics:
    /// "serve", blobs and pieces to other PCs; "push", a claim holder's copy to the server), or null when three scrapes
    /// in a row failed: a failed scrape is not "served nothing" (two 50-PC runs read the server's share as 0.0 % while
    /// its link counters said 9 %; a failed scrape counted as 0 is one way to get that, and now says so).
    /// </summary>
    private async Task<long?> LanBytesOutAsync(int k, string kind)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                double sent = 0;
                foreach (var line in (await Metrics.GetStringAsync($"http://{_lan.Address(k)}:47471/metrics")).Split('\n'))
                {
                    if (line.StartsWith("peerpatch_bytes_total{", StringComparison.Ordinal) && line.Contains("source=\"lan\"", StringComparison.Ordinal)
                        && line.Contains("direction=\"out\"", StringComparison.Ordinal) && line.Contains($"kind=\"{kind}\"", StringComparison.Ordinal))
                    {
                        sent += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                    }
                }

                return (long)sent;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
            {
                Console.WriteLine($"/metrics of PC {k}, attempt {attempt}: {e.GetType().Name}: {e.Message}");
                if (attempt == 3)
                {
                    return null;
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }
}
