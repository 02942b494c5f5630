using System.Diagnostics;
using System.Text;

namespace PeerPatch.Node.Sources;

/// <summary>What one apt child process did. <see cref="Failure"/> says why it did not run to its end (null: it did).</summary>
internal sealed record AptCommandResult(int ExitCode, string Output, string Error, string? Failure)
{
    public bool Ok => Failure is null && ExitCode == 0;

    /// <summary>For a message: why it failed, with the end of what it printed.</summary>
    public string Describe() => Failure ?? $"exit code {ExitCode}: {AptCommands.Tail(Error + Output)}";
}

/// <summary>
/// Runs apt's programs (apt-get, apt-config, /usr/lib/apt/apt-helper) for the apt source, with APT_CONFIG from
/// <see cref="SourcesOptions.AptConfigFile"/> and no terminal questions. Every child is bounded: it is killed after its
/// timeout; its standard output is read up to a limit (text: <see cref="MaxTextOutput"/>, a stream: the caller's),
/// and only the last <see cref="MaxErrorTail"/> characters of its errors are kept.
/// </summary>
internal sealed class AptCommands(SourcesOptions options, TimeProvider time)
{
    /// <summary>Most bytes of text output kept from one command (an --print-uris line is ~200 bytes).</summary>
    public const int MaxTextOutput = 32 << 20;

    /// <summary>Characters kept from the end of a command's standard error.</summary>
    public const int MaxErrorTail = 4000;

    public const string AptHelper = "/usr/lib/apt/apt-helper";

    /// <summary>What every apt child gets in its environment: no questions, and <see cref="SourcesOptions.AptConfigFile"/>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; } = options.AptConfigFile is { } config
        ? new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive", ["APT_CONFIG"] = config }
        : new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };

    public Task<AptCommandResult> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct) =>
        RunAsync(file, args, options.AptCommandTimeout, ct);

    /// <summary>Runs a command and returns its standard output as text.</summary>
    public async Task<AptCommandResult> RunAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var text = string.Empty;
        var result = await StreamAsync(
            file,
            args,
            timeout,
            MaxTextOutput,
            async (stdout, token) =>
            {
                using var reader = new StreamReader(stdout, Encoding.UTF8);
                text = await reader.ReadToEndAsync(token).ConfigureAwait(false);
            },
            ct).ConfigureAwait(false);
        return result.Failure is null ? result with { Output = text } : result;
    }

    /// <summary>
    /// Runs a command and hands its standard output, cut at <paramref name="maxBytes"/>, to <paramref name="read"/>.
    /// Stops the child when the reader returns early or the output goes past the bound.
    /// </summary>
    public async Task<AptCommandResult> StreamAsync(
        string file, IReadOnlyList<string> args, TimeSpan timeout, long maxBytes, Func<Stream, CancellationToken, Task> read, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in Environment)
        {
            psi.Environment[name] = value;
        }

        // The node reads apt's messages ("Could not get lock"): in English whatever the node's locale (systemd hands a
        // service the system's LANG). Only these queries; the install keeps the PC's locale for maintainer scripts.
        psi.Environment["LC_ALL"] = "C.UTF-8";
        psi.Environment.Remove("LANGUAGE");

        var command = $"{Path.GetFileName(file)} {string.Join(' ', args)}";
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new AptCommandResult(-1, string.Empty, string.Empty, $"{file} cannot be run here: {e.Message}");
        }

        using (process)
        {
            using var limit = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);
            var errors = ReadTailAsync(process.StandardError, linked.Token);
            var stdout = new BoundedReadStream(process.StandardOutput.BaseStream, maxBytes);
            try
            {
                await read(stdout, linked.Token).ConfigureAwait(false);
                if (stdout.Exceeded)
                {
                    Kill(process);
                    return new AptCommandResult(-1, string.Empty, await errors.ConfigureAwait(false), $"{command} printed more than {maxBytes} bytes");
                }

                // The reader may stop before the end (it found what it needed): the child must not block on a full pipe.
                await stdout.CopyToAsync(Stream.Null, linked.Token).ConfigureAwait(false);
                await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
                return new AptCommandResult(process.ExitCode, string.Empty, await errors.ConfigureAwait(false), stdout.Exceeded ? $"{command} printed more than {maxBytes} bytes" : null);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return new AptCommandResult(-1, string.Empty, string.Empty, $"{command} did not finish in {timeout} (AptCommandTimeout)");
            }
            finally
            {
                Kill(process);
            }
        }
    }

    internal static string Tail(string text) => text.Length > MaxErrorTail ? text[^MaxErrorTail..].Trim() : text.Trim();

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // it exited meanwhile
        }
    }

    /// <summary>Reads a stream to its end, keeping only its last <see cref="MaxErrorTail"/> characters.</summary>
    private static async Task<string> ReadTailAsync(StreamReader reader, CancellationToken ct)
    {
        var tail = new StringBuilder();
        var buffer = new char[4096];
        try
        {
            int n;
            while ((n = await reader.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                tail.Append(buffer, 0, n);
                if (tail.Length > 2 * MaxErrorTail)
                {
                    tail.Remove(0, tail.Length - MaxErrorTail);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // the child was stopped: what it printed so far is all there is
        }

        return Tail(tail.ToString());
    }
}
