using System.Text;
using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Policy;

namespace PeerPatch.Node.Tests.Policy;

public sealed class PolicyParserTests
{
    internal const string Example = """
        {
          "rings": { "ring0": { "nodes": ["n-lab1"], "hostnames": ["lab-*"], "ringSettings": ["0"] }, "delay": "24h" },
          "approved": [ { "patch": "KB5031356", "os": "windows-11" } ],
          "held": [ { "patch": "openssl_3.0.15-1" } ],
          "internet": { "rateCap": "2 MB/s", "windows": ["19:00-07:00"], "urgent": "*security*", "dailyQuota": "20 GB" }
        }
        """;

    internal static readonly PolicyKnown Known = new(["n-lab1", "n-pc7"], ["lab-01", "office-07"], ["0", "1"], ["KB5031356", "linux-security-6.1", "openssl_3.0.15-1"]);

    [Fact]
    public void TheReadmeExample_Reads_WithEverySetting()
    {
        Assert.True(PolicyParser.TryParse(Encoding.UTF8.GetBytes(Example), Known, out var policy, out var errors), string.Join("\n", errors));

        Assert.Equal(["n-lab1"], policy!.Rings.Nodes);
        Assert.Equal(TimeSpan.FromHours(24), policy.Rings.Delay);
        Assert.True(policy.Rings.IsRing0("n-x", "LAB-02", null)); // hostname globs ignore case
        Assert.True(policy.Rings.IsRing0("n-y", "office-1", "0"));
        Assert.False(policy.Rings.IsRing0("n-y", "office-1", "1"));
        Assert.Equal(2_000_000, policy.Internet.RateCapBytesPerSecond);
        Assert.Equal(20_000_000_000, policy.Internet.DailyQuotaBytes);
        Assert.Equal("19:00-07:00", Assert.Single(policy.Internet.Windows).ToString());
        Assert.Equal(new PatchRule("KB5031356", "windows-11"), Assert.Single(policy.Approved));
    }

    [Fact]
    public void UnknownFieldsBadTimesBadSizesAndPatternsMatchingNothing_AreEachListed()
    {
        var bad = """
            {
              "ring": {},
              "rings": { "ring0": { "hostnames": ["lba-*"], "ringSettings": ["canary"], "nodes": ["n-ghost"] }, "delay": "soon" },
              "internet": { "rateCap": "2 parsecs", "windows": ["25:00-07:00", "19:00-19:00"], "urgent": "*securty*", "dailyQuota": -5, "extra": 1 }
            }
            """;

        Assert.False(PolicyParser.TryParse(Encoding.UTF8.GetBytes(bad), Known, out var policy, out var errors));

        Assert.Null(policy);
        var all = string.Join("\n", errors);
        Assert.Contains("unknown field \"ring\"", all);
        Assert.Contains("unknown field \"extra\"", all);
        Assert.Contains("rings.delay", all);
        Assert.Contains("internet.rateCap", all);
        Assert.Contains("internet.dailyQuota", all);
        Assert.Contains("\"25:00-07:00\"", all);
        Assert.Contains("\"19:00-19:00\"", all);
        Assert.Contains("\"lba-*\" matches none", all);
        Assert.Contains("\"canary\" is no node's Ring setting", all);
        Assert.Contains("\"n-ghost\" is none of", all);
        Assert.Contains("\"*securty*\" matches none", all);
    }

    [Fact]
    public void DuplicateKeys_AreAnError()
    {
        Assert.False(PolicyParser.TryParse("""{"internet": {"rateCap": 1}, "internet": {}}"""u8, null, out _, out var errors));
        Assert.Contains(errors, e => e.Contains("appears twice", StringComparison.Ordinal));
    }

    [Fact]
    public void ADocumentOverTheSizeLimit_IsRefusedBeforeItIsRead()
    {
        var big = Encoding.UTF8.GetBytes("{\"held\": [" + string.Join(",", Enumerable.Repeat("{\"patch\":\"xxxxxxxxxxxxxxxxxxxxxxx\"}", 3000)) + "]}");
        Assert.False(PolicyParser.TryParse(big, null, out _, out var errors));
        Assert.Contains("at most", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void AnEnvelope_RoundTripsThroughItsText()
    {
        Assert.True(PolicyParser.TryParse(Encoding.UTF8.GetBytes(Example), null, out var policy, out _));
        var envelope = new PolicyEnvelope(7, "n-admin", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero), policy!);

        Assert.True(PolicyEnvelope.TryParse(envelope.ToJson(), out var back, out var errors), string.Join("\n", errors));

        Assert.Equal(envelope.ToJson(), back!.ToJson());
        Assert.Equal(7, back.Version);
    }

    [Theory]
    [InlineData("19:00-07:00", "18:59", false)]
    [InlineData("19:00-07:00", "19:00", true)]
    [InlineData("19:00-07:00", "03:00", true)]
    [InlineData("19:00-07:00", "07:00", false)]
    [InlineData("09:00-17:00", "12:00", true)]
    [InlineData("09:00-17:00", "17:30", false)]
    public void Windows_WrapMidnight(string window, string at, bool inside)
    {
        Assert.True(DownloadWindow.TryParse(window, out var w));
        Assert.Equal(inside, w.Contains(TimeOnly.Parse(at, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void MalformedDocuments_NeverThrow_AndAreNeverHalfAccepted()
    {
        // Mutations of a valid document: cut short, bytes flipped, fields renamed, values swapped for other JSON.
        var valid = Encoding.UTF8.GetBytes(Example);
        string[] junk = ["null", "-1", "1e999", "\"\"", "[]", "{}", "\"25:61-99:00\"", "\"9999999 TB\"", "\"\\u0000\"", "true", "\"*\"", "[[[[[[[[[[1]]]]]]]]]]"];
        var cases =
            from kind in Gen.Choose(0, 3)
            from at in Gen.Choose(0, valid.Length - 1)
            from value in Gen.Choose(0, 255)
            from pick in Gen.Elements(junk)
            select (kind, at, value, pick);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            byte[] input = c.kind switch
            {
                0 => valid[..c.at],
                1 => [.. valid[..c.at], (byte)c.value, .. valid[(c.at + 1)..]],
                2 => Encoding.UTF8.GetBytes(Example.Replace("\"delay\": \"24h\"", "\"delay\": " + c.pick, StringComparison.Ordinal).Replace("\"urgent\": \"*security*\"", "\"urgent\": " + c.pick, StringComparison.Ordinal)),
                _ => Encoding.UTF8.GetBytes(Example.Replace("\"windows\": [\"19:00-07:00\"]", "\"windows\": [" + c.pick + "]", StringComparison.Ordinal)),
            };
            var ok = PolicyParser.TryParse(input, Known, out var policy, out var errors);
            Assert.Equal(ok, policy is not null);
            Assert.Equal(ok, errors.Count == 0);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
