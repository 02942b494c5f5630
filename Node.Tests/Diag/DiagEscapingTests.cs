using System.Net;
using PeerPatch.Diag;
using PeerPatch.Protocol.Mdns;
using PeerPatch.Protocol.Text;
using Spectre.Console;

namespace PeerPatch.Node.Tests.Diag;

/// <summary>
/// Log forging in the admin's tools (issue 19, part 5): an mDNS advert whose instance and TXT id carry a line break
/// and terminal escapes shows as one escaped row in `peerpatch-diag nodes`, never as a fake line or colour.
/// </summary>
public sealed class DiagEscapingTests
{
    [Fact]
    public void AForgedMdnsInstanceNameAndId_ShowAsOneEscapedRow()
    {
        var from = IPAddress.Parse("10.1.1.7");
        var forgedId = "evil\n[ERR] fake\u001b[2J";
        var instance = DnsName.Instance("peerpatch-evil\n[ERR] fake", MdnsQuery.ServiceType);
        var host = DnsName.Parse("pp-evil.local");
        var found = MdnsQuery.Resolve(
        [
            (new PtrRecord(MdnsQuery.ServiceType, 120, instance), from),
            (new SrvRecord(instance, 120, true, 0, 0, 47470, host), from),
            (new TxtRecord(instance, 120, true, ["v=1", "id=" + forgedId, "role=server", "term=4", "http=47471"]), from),
        ]);
        var node = Assert.Single(found);
        Assert.Equal(forgedId, node.NodeId); // data stays data; only its display is escaped

        var lan = new LanView(DateTimeOffset.UnixEpoch, [new NodeReport(node.NodeId, node.BaseUri.ToString(), "mdns", DateTimeOffset.UnixEpoch, false, "connection refused", null)]);
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 400;
        console.Write(Views.Nodes(lan));
        var lines = writer.ToString().Split('\n');

        var row = Assert.Single(lines, l => l.Contains("evil", StringComparison.Ordinal));
        Assert.Contains(@"evil\n[ERR] fake\u001b[2J", row, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("[ERR]", StringComparison.Ordinal));
        Assert.DoesNotContain(writer.ToString(), c => c != '\n' && LogText.IsDangerous(c));
    }
}
