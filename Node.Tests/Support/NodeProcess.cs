using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace PeerPatch.Node.Tests.Support;

/// <summary>A real `peerpatch run` process on loopback, with its own data directory and ports.</summary>
internal sealed partial class NodeProcess : IAsyncDisposable
{
    /// <summary>
    /// The directory of the executables that ship (Native AOT, linux-x64): tools/test.sh publishes them once after the
    /// build (tools/package/publish.sh linux-x64), so every real-process test runs what the .deb carries.
    /// </summary>
    private static readonly string PublishDir =
        typeof(NodeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PublishDir").Value!;

    private static readonly Lazy<string> NodeExe = new(() => Published("peerpatch"));

    private static readonly Lazy<string> DiagExe = new(() => Published("peerpatch-diag"));

    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _output = new();
    private Process _process = null!;

    private IReadOnlyDictionary<string, string> _environment = new Dictionary<string, string>();

    private NodeProcess(string name, string dataDir, int udp, int http, string[] args, string host = "127.0.0.1", string? netns = null)
    {
        Host = host;
        Netns = netns;
        Name = name;
        DataDir = dataDir;
        Udp = udp;
        HttpPort = http;
        Args = args;
    }

    public string Name { get; }

    public string DataDir { get; }

    public int Udp { get; }

    public int HttpPort { get; }

    public string[] Args { get; }

    /// <summary>The address the node is reached at (127.0.0.1, or its address inside its network namespace).</summary>
    public string Host { get; }

    /// <summary>The network namespace the node runs in, if any.</summary>
    public string? Netns { get; }

    public Uri Http => new($"http://{Host}:{HttpPort}/");

    public string ServerAddress => $"{Host}:{Udp}";

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static Task<NodeProcess> StartAsync(string name, string dataDir, params string[] extra) =>
        StartWithConfigAsync(name, dataDir, "{}", extra);

    /// <summary>Starts a node whose --config file holds <paramref name="configJson"/> (for settings without an option).</summary>
    public static Task<NodeProcess> StartWithConfigAsync(string name, string dataDir, string configJson, params string[] extra) =>
        StartWithEnvironmentAsync(name, dataDir, configJson, new Dictionary<string, string>(), extra);

    /// <summary>As <see cref="StartWithConfigAsync"/>, with <paramref name="environment"/> added to the node's (a locale: nothing in this process changes).</summary>
    public static async Task<NodeProcess> StartWithEnvironmentAsync(string name, string dataDir, string configJson, IReadOnlyDictionary<string, string> environment, params string[] extra)
    {
        var (udp, http) = FreePorts.Pair();
        var args = new List<string>
        {
            "run", "--data", dataDir, "--port", udp.ToString(), "--http-port", http.ToString(), "--bind", "127.0.0.1",
            "--update-interval", "0", "--os-version", "test-1-amd64", "--config", ConfigFile(dataDir, configJson, onLoopback: true),
        };
        args.AddRange(extra);
        var node = new NodeProcess(name, dataDir, udp, http, [.. args]) { _environment = environment };
        await node.StartProcessAsync();
        return node;
    }

    /// <summary>
    /// Starts a node inside network namespace <paramref name="netns"/>, on the default ports, configured only by its
    /// data directory (plus <paramref name="extra"/>): the zero-config case.
    /// </summary>
    public static Task<NodeProcess> StartInNamespaceAsync(string name, string netns, string host, string dataDir, params string[] extra) =>
        StartInNamespaceWithConfigAsync(name, netns, host, dataDir, "{\"MdnsInterfaces\":[]}", extra);

    /// <summary>As <see cref="StartInNamespaceAsync"/>, with a --config file holding <paramref name="configJson"/> (for settings without an option).</summary>
    public static async Task<NodeProcess> StartInNamespaceWithConfigAsync(string name, string netns, string host, string dataDir, string configJson, params string[] extra)
    {
        var args = new List<string> { "run", "--data", dataDir, "--config", ConfigFile(dataDir, configJson, onLoopback: false) };
        args.AddRange(extra);
        var node = new NodeProcess(name, dataDir, 47470, 47471, [.. args], host, netns);
        await node.StartProcessAsync();
        return node;
    }

    /// <summary>Starts the same node again (same data directory and ports) after it exited.</summary>
    public async Task RestartAsync() => await StartProcessAsync();

    public async Task<JsonElement> StatusAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await http.GetStringAsync(new Uri(Http, "v1/status"));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public async Task<JsonElement> PatchesAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await http.GetStringAsync(new Uri(Http, "v1/patches"));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>Runs `peerpatch update --node this --json` as its own process.</summary>
    /// <remarks>Passes are started from the node's own machine (the endpoint accepts loopback only): inside its namespace.</remarks>
    /// <remarks>A keyed node's passes are signed with the key file it was started with (`--cluster-key-file`).</remarks>
    public Task<CliResult> UpdateAsync()
    {
        var args = new List<string> { "update", "--node", Netns is null ? Http.ToString() : $"http://127.0.0.1:{HttpPort}/", "--json" };
        if (KeyFile is { } key)
        {
            args.AddRange(["--cluster-key-file", key]);
        }

        return RunCliAsync(Netns, [.. args]);
    }

    /// <summary>The key file given on the node's command line, if any.</summary>
    public string? KeyFile => Array.IndexOf(Args, "--cluster-key-file") is var i and >= 0 && i + 1 < Args.Length ? Args[i + 1] : null;

    public static Task<CliResult> RunCliAsync(params string[] args) => RunCliAsync(null, args);

    /// <summary>
    /// Starts `peerpatch ARGS` and returns at once (for tests that interrupt it or bound its time). Through
    /// `env --default-signal=INT`: a test run started as a shell's background job inherits SIGINT ignored (POSIX), and
    /// an interrupt the CLI never sees would test nothing.
    /// </summary>
    public static Process StartCli(params string[] args)
    {
        var psi = NetnsLan.Command(null, "env", ["--default-signal=INT", NodeExe.Value, .. args]);
        return Process.Start(psi)!;
    }

    private static Task<CliResult> RunCliAsync(string? netns, params string[] args) => RunExecutableAsync(netns, NodeExe.Value, args);

    /// <summary>Runs `peerpatch-diag ARGS` (inside <paramref name="netns"/> when given) to its end.</summary>
    public static Task<CliResult> RunDiagAsync(string? netns, params string[] args) => RunExecutableAsync(netns, DiagExe.Value, args);

    /// <summary>The published executable <paramref name="name"/>, or a failure that says how to publish it.</summary>
    private static string Published(string name)
    {
        // tools/test.sh runs the tests outside Node.Tests/Integration while it publishes, and says so here.
        if (Environment.GetEnvironmentVariable("PEERPATCH_TESTS_UNPUBLISHED") is not null)
        {
            throw new InvalidOperationException($"{name}: this test runs a published executable, so it belongs in Node.Tests/Integration (tools/test.sh runs the other tests while it publishes)");
        }

        var path = Path.Combine(PublishDir, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{path} is missing: real-process tests run the published executables; run tools/package/publish.sh linux-x64 (tools/test.sh does) after the build", path);
    }

    private static async Task<CliResult> RunExecutableAsync(string? netns, string executable, params string[] args)
    {
        var psi = NetnsLan.Command(netns, executable, args);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await ChildProcess.ExitWithinAsync(process, TimeSpan.FromMinutes(5), $"{Path.GetFileName(executable)} {string.Join(' ', args)}");
        return new CliResult(process.ExitCode, await stdout.WaitAsync(TimeSpan.FromSeconds(30)), await stderr.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Peak resident set size so far (VmHWM) and the current one (VmRSS), in bytes.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = ParseKb(line);
            }
        }

        return (rss, peak);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            // Bounded: the wait also waits for the end of its output, which a child it started may still hold open.
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>SIGTERM and wait for a clean exit.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _ = SysKill(_process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(timeout.Token);
        }
    }

    /// <summary>SIGSTOP: the process stays alive but answers nothing (a hung or overloaded server).</summary>
    public void Freeze() => _ = SysKill(_process.Id, 19);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => _ = SysKill(_process.Id, 18);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Thaw();
        }

        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    /// <summary>
    /// Writes the node's config file: mDNS stays on loopback (no test traffic leaves the machine) unless the JSON says
    /// otherwise, no cluster key (not even one at the machine's default path) unless it names one (--cluster-key-file wins),
    /// and no patch source (not even this machine's apt, the default on Debian) unless it names one (--source wins).
    /// A node on loopback uses its LAN's own mDNS port (<see cref="LoopbackMdns"/>) unless the JSON names one; a node in
    /// a network namespace has the standard port, alone on its interface.
    /// </summary>
    private static string ConfigFile(string dataDir, string json, bool onLoopback)
    {
        var config = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        if (onLoopback && !config.ContainsKey("MdnsPort"))
        {
            config["MdnsPort"] = LoopbackMdns.PortFor(dataDir);
        }

        if (!config.ContainsKey("MdnsInterfaces"))
        {
            config["MdnsInterfaces"] = new System.Text.Json.Nodes.JsonArray("lo");
        }

        if (!config.ContainsKey("ClusterKeyFile"))
        {
            config["ClusterKeyFile"] = "none";
        }

        if (!config.ContainsKey("Sources"))
        {
            config["Sources"] = new System.Text.Json.Nodes.JsonArray("none");
        }

        var path = dataDir.TrimEnd('/') + ".config.json";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private static long ParseKb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    private async Task StartProcessAsync()
    {
        var psi = NetnsLan.Command(Netns, NodeExe.Value, Args);
        foreach (var (key, value) in _environment)
        {
            psi.Environment[key] = value;
        }

        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            await WaitReadyAsync();
        }
        catch
        {
            await KillAsync(); // never leave a half-started node behind
            throw;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(Name).Append(": ").AppendLine(line);
        }
    }

    private async Task WaitReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        // A node is ready in about a second on an idle machine; test classes run in parallel on 2 cores, where many
        // nodes start (JIT-compiling) at once: the bound leaves room for that.
        var deadline = DateTime.UtcNow + ReadyWithin;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"node {Name} exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Http, "v1/status"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"node {Name} not ready in {ReadyWithin.TotalSeconds:0} s:\n{Output}");
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SysKill(int pid, int signal);
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<JsonElement> JsonLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public IReadOnlyList<JsonElement> Outcomes => JsonLines.Where(j => !j.TryGetProperty("summary", out _) && !j.TryGetProperty("progress", out _)).ToList();

    public IReadOnlyList<JsonElement> ProgressLines => JsonLines.Where(j => j.TryGetProperty("progress", out _)).Select(j => j.GetProperty("progress")).ToList();

    public JsonElement Summary => JsonLines.Single(j => j.TryGetProperty("summary", out _)).GetProperty("summary");
}
