using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Protocol.Text;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Display;

namespace PeerPatch.Node.Tests.Hosting;

/// <summary>
/// Log forging (issue 19, part 5): untrusted text in any property, in a template, in an exception or in a scope never
/// makes a second line, in each of the node's three line formats (terminal, systemd, file), behind the node's
/// <see cref="SanitizingSink"/>; URL secrets are masked on the way.
/// </summary>
public sealed class LogForgingTests
{
    private const string Forged = "\n[ERR] fake";

    public static TheoryData<string> Formats => [NodeLogging.TerminalConsoleTemplate, NodeLogging.SystemdConsoleTemplate, NodeLogging.FileTemplate];

    [Theory]
    [MemberData(nameof(Formats))]
    public void ARejectedPatchName_AnMdnsInstanceName_AndAHeaderValue_EachMakeExactlyOneLine(string template)
    {
        var lines = Render(template, log =>
        {
            log.LogWarning(501, "push of {Patch} ({PatchHash}) from {Remote} rejected with {Status}: {Reason}", "KB1" + Forged, new string('a', 64), "10.0.0.9", 400, "bad name");
            log.LogWarning(611, "mDNS: {From} answers for our instance {Instance} with other data", "10.0.0.9:5353", "peerpatch-x" + Forged + "._peerpatch._udp.local");
            log.LogWarning(813, "apt: request header {Header} not forwarded", "User-Agent: x\r" + Forged + "\u001b[2J");
        });

        Assert.Equal(3, lines.Count);
        Assert.Contains(@"KB1\n[ERR] fake", lines[0], StringComparison.Ordinal);
        Assert.Contains(@"peerpatch-x\n[ERR] fake._peerpatch._udp.local", lines[1], StringComparison.Ordinal);
        Assert.Contains(@"User-Agent: x\r\n[ERR] fake\u001b[2J", lines[2], StringComparison.Ordinal);
        AssertNoRawControlCharacter(lines);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ScopesTemplatesObjectsAndNestedValues_AreEscapedToo(string template)
    {
        var lines = Render(template, log =>
        {
            using (log.BeginScope(new Dictionary<string, object?> { ["PassId"] = "p1" + Forged, ["Peer"] = "x\u2028y" }))
            {
                log.LogInformation("got {Names} and {Endpoint}", new[] { "a" + Forged, "b\u0085" }, new Uri("http://h/x\u001b"));
                log.LogInformation("raw template from a careless call site: " + "KB9" + Forged);
            }
        });

        Assert.Equal(2, lines.Count);
        Assert.Contains(@"""a\\n[ERR] fake""", lines[0], StringComparison.Ordinal); // a sequence renders as JSON: the escape, JSON-quoted
        Assert.Contains(@"KB9\n[ERR] fake", lines[1], StringComparison.Ordinal);
        AssertNoRawControlCharacter(lines);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void AnExceptionKeepsItsLines_ButNoneOfThemCanStartLikeAnEvent(string template)
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException("boom" + Forged + "\r\n12:00:00.000 [ERR] fake too");
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var output = RenderRaw(template, log => log.LogError(433, thrown, "{Patch}: unexpected failure", "KB1"));
        var lines = output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 2, output);
        Assert.All(lines.Skip(1), l => Assert.StartsWith(SanitizingSink.SanitizedException.Indent, l, StringComparison.Ordinal));
        Assert.Contains("InvalidOperationException: boom", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("[ERR] fake", StringComparison.Ordinal) || l.StartsWith("12:00", StringComparison.Ordinal));
        AssertNoRawControlCharacter(lines);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void UrlSecrets_NeverReachALine(string template)
    {
        var output = RenderRaw(template, log =>
        {
            using (log.BeginScope(new Dictionary<string, object?> { ["Source"] = "manifest:https://alice:Hunter2pw@feeds.example/{os}.json" }))
            {
                log.LogInformation("{Patch}: LAN miss, downloading {Url} under claim {ClaimId}", "KB1", "https://alice:Hunter2pw@h/f.bin?token=Hunter2pw", 7UL);
                log.LogInformation("download of {Url} failed", new Uri("https://alice:Hunter2pw@h/f.bin"));
            }
        });

        Assert.DoesNotContain("Hunter2pw", output, StringComparison.Ordinal);
        Assert.Contains("https://***@h/f.bin?token=***", output, StringComparison.Ordinal);
    }

    private static void AssertNoRawControlCharacter(IEnumerable<string> lines) =>
        Assert.All(lines, l => Assert.DoesNotContain(l, c => LogText.IsDangerous(c)));

    /// <summary>The event lines (an event's first line), with the line terminator removed.</summary>
    private static List<string> Render(string template, Action<Microsoft.Extensions.Logging.ILogger> write) =>
        [.. RenderRaw(template, write).Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>What the node's pipeline writes for <paramref name="write"/>'s events in <paramref name="template"/>.</summary>
    private static string RenderRaw(string template, Action<Microsoft.Extensions.Logging.ILogger> write)
    {
        var writer = new StringWriter();
        var capture = new FormattingSink(new MessageTemplateTextFormatter(template), writer);
        using (var serilog = new LoggerConfiguration()
            .Enrich.FromLogContext()
            .Enrich.With<SyslogPriorityEnricher>()
            .WriteTo.Sink(new SanitizingSink(capture))
            .CreateLogger())
        using (var factory = new SerilogLoggerFactory(serilog))
        {
            write(factory.CreateLogger("PeerPatch.Tests"));
        }

        return writer.ToString();
    }

    private sealed class FormattingSink(MessageTemplateTextFormatter formatter, TextWriter writer) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => formatter.Format(logEvent, writer);
    }
}
