using System.Diagnostics;
using System.Text.RegularExpressions;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Debian's chromium, headless, run inside a test namespace (so it can reach only that LAN): loads a page, lets its
/// scripts run (virtual time), and dumps the DOM or saves a screenshot. Background networking, updates and
/// sync are off; the browser is killed by pid if it overruns. tools/test.sh installs chromium when missing.
/// </summary>
internal static class HeadlessChromium
{
    public const string Binary = "/usr/bin/chromium";

    public static bool Available => File.Exists(Binary);

    public static async Task<string> DumpDomAsync(string? netns, Uri page, string profileDir) =>
        (await RunAsync(netns, profileDir, ["--dump-dom", page.ToString()])).Stdout;

    public static async Task ScreenshotAsync(string? netns, Uri page, string profileDir, string png)
    {
        var result = await RunAsync(netns, profileDir, [$"--screenshot={png}", page.ToString()]);
        Assert.True(File.Exists(png), $"chromium wrote no screenshot: {result.Stderr}");
        Assert.True(new FileInfo(png).Length > 10_000, "screenshot is nearly empty");
    }

    /// <summary>The text of the element with id <paramref name="id"/> in a dumped DOM (fails the test when there is none).</summary>
    public static string ElementText(string dom, string id)
    {
        var m = Regex.Match(dom, $"id=\"{id}\"[^>]*>(?<t>[^<]*)<");
        Assert.True(m.Success, $"no element #{id} in the rendered page:\n{dom}");
        return m.Groups["t"].Value.Trim();
    }

    /// <summary>The inner HTML of the tbody of table <paramref name="table"/> in a dumped DOM (fails the test when there is none).</summary>
    public static string TableBody(string dom, string table)
    {
        var m = Regex.Match(dom, $"<table id=\"{table}\">.*?<tbody>(?<b>.*?)</tbody>", RegexOptions.Singleline);
        Assert.True(m.Success, $"no table #{table} in the rendered page:\n{dom}");
        return m.Groups["b"].Value;
    }

    private static async Task<CliResult> RunAsync(string? netns, string profileDir, string[] extra)
    {
        string[] args =
        [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--disable-breakpad", "--metrics-recording-only", "--hide-scrollbars",
            $"--user-data-dir={profileDir}", "--window-size=1400,1200", "--virtual-time-budget=12000",
            .. extra,
        ];
        var psi = NetnsLan.Command(netns, Binary, args);
        psi.Environment["HOME"] = profileDir;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish in 90 s: {await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
