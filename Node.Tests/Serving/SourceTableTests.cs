using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>The ranking of a hit's sources, with a driven clock and a scripted tie-break.</summary>
public sealed class SourceTableTests
{
    private const string Sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void LeastRecentlyHandedOut_ComesFirst_SoConsecutiveAskersStartAtDifferentHolders()
    {
        var table = Table(("n1", true), ("n2", true), ("n3", true));
        var random = new ScriptedRandom();

        var first = table.Rank(Sha, "asker", 8, T0, random);
        var second = table.Rank(Sha, "asker", 8, T0, random);
        var third = table.Rank(Sha, "asker", 8, T0, random);

        Assert.Equal(3, first.Count);
        Assert.Equal(3, new[] { first[0].NodeId, second[0].NodeId, third[0].NodeId }.Distinct().Count());
    }

    [Fact]
    public void AFaultReport_UnlistsTheAccusedFromThatBlobOnly_OnceASecondKnownNodeSaysSo()
    {
        const string Other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        string[] nodes = ["n0", "n1", "n2", "n3", "n4", "nstranger"]; // the last has no session: unknown here
        var listings = Gen.Elements(0, 1, 2).ListOf(10).Select(l => l.ToArray()); // per known node and blob: absent, confirmed, likely
        var reports = Gen.Choose(0, 5).Two().Zip(Gen.Choose(0, 3)).Select(t => (Reporter: nodes[t.Item1.Item1], Accused: nodes[t.Item1.Item2 % 5], OnOther: t.Item2 % 2 == 0, Gone: t.Item2 >= 2))
            .ListOf().Select(l => l.Take(16).ToArray());
        Prop.ForAll(listings.ToArbitrary(), reports.ToArbitrary(), (kinds, faults) =>
        {
            var table = new SourceTable();
            var listed = new Dictionary<string, Dictionary<string, bool>> { [Sha] = [], [Other] = [] }; // node -> likely
            for (var i = 0; i < 5; i++)
            {
                var httpBase = new Uri($"http://10.0.0.{i + 1}:47471/");
                table.NoteAddress(nodes[i], httpBase, T0);
                foreach (var (sha, kind) in new[] { (Sha, kinds[2 * i]), (Other, kinds[(2 * i) + 1]) })
                {
                    if (kind > 0 && (kind == 1 ? table.AddHolder(sha, nodes[i], httpBase, T0) : table.AddLikely(sha, nodes[i], T0)))
                    {
                        listed[sha][nodes[i]] = kind == 2;
                    }
                }
            }

            var strikes = new Dictionary<(string, string), string>();
            foreach (var (reporter, accused, onOther, gone) in faults)
            {
                var sha = onOther ? Other : Sha;
                bool expected;
                if (reporter == accused || reporter == "nstranger" || !listed[sha].TryGetValue(accused, out var likely) || (gone && likely))
                {
                    expected = false;
                }
                else if (!strikes.TryGetValue((sha, accused), out var first))
                {
                    strikes[(sha, accused)] = reporter;
                    expected = false;
                }
                else if (first == reporter)
                {
                    expected = false;
                }
                else
                {
                    strikes.Remove((sha, accused));
                    listed[sha].Remove(accused);
                    expected = true;
                }

                Assert.Equal(expected, table.ReportFault(sha, reporter, accused, gone, T0));
                foreach (var blob in listed.Keys)
                {
                    Assert.Equal(listed[blob].Keys.Order(), table.Rank(blob, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId).Order());
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void AFirstFaultReport_WaitsForASecondWithinTheWindow_NotLonger()
    {
        var table = Table(("n1", true), ("n2", true), ("n3", true));

        Assert.False(table.ReportFault(Sha, "n1", "n3", gone: false, T0));
        Assert.False(table.ReportFault(Sha, "n2", "n3", gone: false, T0 + SourceTable.StrikeWindow + TimeSpan.FromSeconds(1))); // too late: a first report again
        Assert.True(table.ReportFault(Sha, "n1", "n3", gone: false, T0 + SourceTable.StrikeWindow + TimeSpan.FromSeconds(2)));

        Assert.Equal(["n1", "n2"], table.Rank(Sha, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId).Order());
    }

    [Fact]
    public void AFirstFaultReport_AboutACopyThatLeftTheList_DoesNotCountAgainstTheCopyListedAnew()
    {
        var table = Table(("n1", true), ("n2", true), ("n3", true));

        Assert.False(table.ReportFault(Sha, "n1", "n3", gone: false, T0)); // one voice about n3's copy
        Assert.True(table.RemoveHolder(Sha, "n3")); // n3 evicted it ("gone")...
        Assert.True(table.AddHolder(Sha, "n3", new Uri("http://10.0.0.3:47471/"), T0)); // ...and stored it anew

        Assert.False(table.ReportFault(Sha, "n2", "n3", gone: false, T0)); // a first voice about the new copy, not a second
        Assert.True(table.ReportFault(Sha, "n1", "n3", gone: false, T0));
    }

    [Fact]
    public void TheServersOwnFaultReport_UnlistsAtOnce_ButALikelyHolders404StillProvesNothing()
    {
        var table = Table(("n1", true), ("n2", false));

        Assert.False(table.ReportFault(Sha, "nserver", "n2", gone: true, T0, alone: true)); // handed the blob lately: 404 until its fetch begins
        Assert.True(table.ReportFault(Sha, "nserver", "n1", gone: false, T0, alone: true)); // its own fetch's proof: one voice is enough

        Assert.Equal(["n2"], table.Rank(Sha, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
    }

    [Fact]
    public void TiesAreBrokenByTheRandomSource()
    {
        var table = Table(("n1", true), ("n2", true));

        var ranked = table.Rank(Sha, "asker", 8, T0, new ScriptedRandom(0.9, 0.1));

        Assert.Equal(["n2", "n1"], ranked.Select(s => s.NodeId));
    }

    [Fact]
    public void HandOutsFade_SoAHolderComesBackToTheTop()
    {
        var table = Table(("n1", true), ("n2", true));
        var random = new ScriptedRandom(0.1, 0.9);
        Assert.Equal("n1", table.Rank(Sha, "asker", 8, T0, random)[0].NodeId);
        Assert.Equal("n2", table.Rank(Sha, "asker", 8, T0, new ScriptedRandom(0.1, 0.9))[0].NodeId);

        // Much later both counts have faded to nearly nothing: the tie-break decides again.
        Assert.Equal("n1", table.Rank(Sha, "asker", 8, T0 + TimeSpan.FromHours(1), new ScriptedRandom(0.1, 0.9))[0].NodeId);
    }

    [Fact]
    public void AHolderThatSaysTheBlobIsGone_IsNoLongerListed_OthersStay()
    {
        var table = Table(("n1", true), ("n2", true));
        table.NoteAddress("n3", new Uri("http://10.0.0.3:47471/"), T0);
        Assert.True(table.AddLikely(Sha, "n3", T0));

        Assert.True(table.RemoveHolder(Sha, "n1"));
        Assert.True(table.RemoveHolder(Sha, "n3")); // a likely one too
        Assert.False(table.RemoveHolder(Sha, "n1")); // once
        Assert.False(table.RemoveHolder(new string('b', 64), "n2")); // not a holder of that one

        Assert.Equal(["n2"], table.Rank(Sha, "asker", 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
        Assert.True(table.RemoveHolder(Sha, "n2"));
        Assert.False(table.HasHolders(Sha));
        Assert.Equal(0, table.BlobCount);
    }

    [Fact]
    public void TheAsker_AFailedHolder_AndAnExpiredLikelyHolder_AreNotListed()
    {
        var table = Table(("n1", true), ("n2", true), ("asker", true));
        table.ReportFailed("n1", T0);
        table.NoteAddress("n3", new Uri("http://10.0.0.3:47471/"), T0);
        Assert.True(table.AddLikely(Sha, "n3", T0));

        Assert.Equal(["n2", "n3"], table.Rank(Sha, "asker", 8, T0 + TimeSpan.FromSeconds(1), new ScriptedRandom()).Select(s => s.NodeId));
        Assert.Equal(["n1", "n2"], table.Rank(Sha, "asker", 8, T0 + SourceTable.LikelyLifetime + TimeSpan.FromSeconds(1), new ScriptedRandom()).Select(s => s.NodeId).Order());
    }

    [Fact]
    public void ConfirmedHolders_ComeBeforeLikelyOnes_AndAConfirmationUpgradesALikelyOne()
    {
        var table = new SourceTable();
        table.NoteAddress("likely", new Uri("http://10.0.0.9:47471/"), T0);
        Assert.True(table.AddLikely(Sha, "likely", T0));
        Assert.True(table.AddHolder(Sha, "held", new Uri("http://10.0.0.8:47471/"), T0));
        for (var i = 0; i < 5; i++)
        {
            table.Rank(Sha, null, 1, T0, new ScriptedRandom()); // "held" collects hand-outs
        }

        Assert.Equal(["held", "likely"], table.Rank(Sha, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
        Assert.True(table.AddHolder(Sha, "likely", new Uri("http://10.0.0.9:47471/"), T0));
        Assert.Equal(["likely", "held"], table.Rank(Sha, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
    }

    [Fact]
    public void AFullInventory_EndsTheReportersListingsItLeavesOut_ItsLikelyOnesAndOtherHoldersStay()
    {
        var other = new string('b', 64);
        var receiving = new string('c', 64);
        var table = Table(("n1", true), ("n2", true));
        Assert.True(table.AddHolder(other, "n1", new Uri("http://10.0.0.1:47471/"), T0)); // n1's only holder of it
        Assert.True(table.AddLikely(receiving, "n1", T0)); // handed a hit: n1 is still receiving it

        // n1's full report names the other blob only: its "gone" of Sha was lost.
        Assert.Equal(1, table.RetainHolder("n1", new HashSet<string> { other }, T0));

        Assert.Equal(["n2"], table.Rank(Sha, "asker", 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
        Assert.Equal(["n1"], table.Rank(other, "asker", 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
        Assert.Equal(["n1"], table.Rank(receiving, "asker", 8, T0, new ScriptedRandom()).Select(s => s.NodeId));

        // An empty report (its store emptied) ends every confirmed listing; a blob left with no holder is forgotten.
        Assert.Equal(1, table.RetainHolder("n1", new HashSet<string>(), T0));
        Assert.False(table.HasHolders(other));
        Assert.True(table.HasHolders(receiving));
        Assert.Equal(0, table.RetainHolder("n1", new HashSet<string>(), T0));
    }

    [Fact]
    public void AConfirmedHolderHandedAHitAgain_ThatLeavesTheBlobOutOfItsFullReport_StaysListedAsLikely_UntilThatExpires()
    {
        var table = Table(("n1", true), ("n2", true));
        var later = T0 + TimeSpan.FromMinutes(1);
        Assert.True(table.AddLikely(Sha, "n1", later)); // n1 evicted it (its "gone" lost) and was handed a hit: receiving

        Assert.Equal(1, table.RetainHolder("n1", new HashSet<string>(), later + TimeSpan.FromSeconds(1)));

        // Still a source, behind the confirmed one, while the hint is fresh; forgotten once it is not.
        Assert.Equal(["n2", "n1"], table.Rank(Sha, "asker", 8, later + TimeSpan.FromSeconds(2), new ScriptedRandom()).Select(s => s.NodeId));
        Assert.Equal(["n2"], table.Rank(Sha, "asker", 8, later + SourceTable.LikelyLifetime + TimeSpan.FromSeconds(1), new ScriptedRandom()).Select(s => s.NodeId));

    }

    [Fact]
    public void AHintOlderThanTheLikelyLifetime_OrOneTheHolderConfirmedSince_DoesNotKeepAListingItsFullReportLeavesOut()
    {
        var stale = new string('d', 64);
        var fetched = new string('e', 64);
        var table = new SourceTable();
        Assert.True(table.AddHolder(stale, "n1", new Uri("http://10.0.0.1:47471/"), T0)); // n1 alone holds each
        Assert.True(table.AddLikely(stale, "n1", T0)); // a hint while confirmed: remembered
        Assert.True(table.AddLikely(fetched, "n1", T0)); // a hit, then its download confirmed: that hint is spent
        Assert.True(table.AddHolder(fetched, "n1", new Uri("http://10.0.0.1:47471/"), T0 + TimeSpan.FromSeconds(30)));

        // Within the hint's lifetime the first listing would turn likely; the second has no hint left.
        Assert.Equal(2, table.RetainHolder("n1", new HashSet<string>(), T0 + SourceTable.LikelyLifetime + TimeSpan.FromSeconds(1)));

        Assert.False(table.HasHolders(stale)); // removed, not kept as a likely listing with an old Since
        Assert.False(table.HasHolders(fetched));
    }

    [Fact]
    public void AHintWithinTheLikelyLifetime_KeepsTheListingItsFullReportLeavesOut_AsLikely()
    {
        var table = new SourceTable();
        Assert.True(table.AddHolder(Sha, "n1", new Uri("http://10.0.0.1:47471/"), T0));
        Assert.True(table.AddLikely(Sha, "n1", T0));

        Assert.Equal(1, table.RetainHolder("n1", new HashSet<string>(), T0 + SourceTable.LikelyLifetime));

        Assert.True(table.HasHolders(Sha));
        Assert.False(table.HasConfirmedHolder(Sha, "asker", T0 + SourceTable.LikelyLifetime));
    }

    [Fact]
    public void AFullInventory_AfterListingsCameAndWent_EndsExactlyTheOnesItLeavesOut()
    {
        // Property, against a model: whatever adds, hits and "gone"s came before, after a full report the node is
        // confirmed for the reported blobs it was confirmed for; a confirmed listing left out becomes likely if the node
        // was handed a hit for it since it last confirmed, else ends; likely listings stay; other nodes' are untouched.
        var blobs = Enumerable.Range(0, 6).Select(i => new string((char)('a' + i), 64)).ToArray();
        var steps = Gen.ArrayOf(Gen.Choose(0, 2).SelectMany(kind => Gen.Choose(0, blobs.Length - 1).Select(b => (kind, b))), 30);
        var reports = Gen.ArrayOf(Gen.Elements(false, true), blobs.Length);
        Prop.ForAll(steps.ToArbitrary(), reports.ToArbitrary(), (history, report) =>
        {
            var table = new SourceTable();
            table.NoteAddress("n1", new Uri("http://10.0.0.1:47471/"), T0);
            foreach (var sha in blobs)
            {
                Assert.True(table.AddHolder(sha, "n2", new Uri("http://10.0.0.2:47471/"), T0));
            }

            var model = new (char State, bool Hinted)[blobs.Length]; // State: '-' none, 'l' likely, 'c' confirmed
            Array.Fill(model, ('-', false));
            foreach (var (kind, b) in history)
            {
                switch (kind)
                {
                    case 0:
                        table.AddHolder(blobs[b], "n1", new Uri("http://10.0.0.1:47471/"), T0);
                        model[b] = ('c', model[b].State == 'c' && model[b].Hinted);
                        break;
                    case 1:
                        table.AddLikely(blobs[b], "n1", T0);
                        model[b] = (model[b].State == 'c' ? 'c' : 'l', true);
                        break;
                    default:
                        table.RemoveHolder(blobs[b], "n1");
                        model[b] = ('-', false);
                        break;
                }
            }

            table.RetainHolder("n1", blobs.Where((_, i) => report[i]).ToHashSet(), T0);

            for (var i = 0; i < blobs.Length; i++)
            {
                var expected = model[i].State switch
                {
                    'c' when report[i] => 'c',
                    'c' when model[i].Hinted => 'l',
                    'c' => '-',
                    var other => other,
                };
                var listed = table.Rank(blobs[i], "n2", 8, T0, new ScriptedRandom()).Count > 0;
                Assert.Equal(expected == 'c', table.HasConfirmedHolder(blobs[i], "n2", T0));
                Assert.Equal(expected != '-', listed);
                Assert.True(table.HasConfirmedHolder(blobs[i], "n1", T0)); // n2 untouched
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void ANodeThatLeftTheCluster_IsNoSource()
    {
        var table = Table(("n1", true), ("n2", true));

        table.RemoveNode("n1");

        Assert.Equal(["n2"], table.Rank(Sha, null, 8, T0, new ScriptedRandom()).Select(s => s.NodeId));
    }

    [Fact]
    public void HoldersPerBlob_AreBounded()
    {
        var table = new SourceTable();
        for (var i = 0; i < SourceTable.MaxHoldersPerBlob + 10; i++)
        {
            table.AddHolder(Sha, $"n{i}", new Uri($"http://10.0.{i / 200}.{(i % 200) + 1}:47471/"), T0);
        }

        Assert.Equal(SourceTable.MaxHoldersPerBlob, table.Rank(Sha, null, int.MaxValue, T0, new ScriptedRandom()).Count);
    }

    [Fact]
    public void AHitWithEightLongUrlSources_StillFitsTheDatagramLimit()
    {
        var cases =
            from urlLength in Gen.Choose(20, ProtocolLimits.MaxUrlLength - 40)
            from idLength in Gen.Choose(1, ProtocolLimits.MaxNodeIdLength)
            from blobUrlLength in Gen.Choose(0, 1000)
            from keepLast in Gen.Elements(false, true)
            select (urlLength, idLength, blobUrlLength, keepLast);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var blobUrl = "http://10.0.0.1:47471" + "/v1/blobs/" + Sha + new string('x', c.blobUrlLength);
            var hit = LookupResult.Hit(Sha, 123, blobUrl.Length > ProtocolLimits.MaxUrlLength ? blobUrl[..ProtocolLimits.MaxUrlLength] : blobUrl);
            var list = Enumerable.Range(0, ProtocolLimits.MaxSources)
                .Select(i => new PeerSource(new string((char)('a' + i), c.idLength), $"http://10.0.0.{i + 2}:47471/{new string('p', c.urlLength)}"))
                .ToList();

            SourceBudget.Trim(hit, list, c.keepLast);

            var answer = hit with { Sources = list.Count == 0 ? null : [.. list], PieceSize = 1 << 22 };
            Assert.True(answer.IsValid());
            var bytes = WireCodec.Encode(Envelope.Of(ulong.MaxValue, answer)); // throws above the limit
            Assert.True(bytes.Length <= ProtocolLimits.MaxMessageBytes);
            Assert.NotEmpty(list); // one source of at most 2 KiB always fits
            if (c.keepLast)
            {
                Assert.Equal((char)('a' + ProtocolLimits.MaxSources - 1), list[^1].NodeId[0]); // the server, last, is kept
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    private static SourceTable Table(params (string Id, bool Confirmed)[] holders)
    {
        var table = new SourceTable();
        var i = 1;
        foreach (var (id, confirmed) in holders)
        {
            var url = new Uri($"http://10.0.0.{i++}:47471/");
            if (confirmed)
            {
                Assert.True(table.AddHolder(Sha, id, url, T0));
            }
            else
            {
                table.NoteAddress(id, url, T0);
                Assert.True(table.AddLikely(Sha, id, T0));
            }
        }

        return table;
    }

    /// <summary>Returns the scripted values in turn, then 0.5.</summary>
    private sealed class ScriptedRandom(params double[] values) : IRandomSource
    {
        private int _next;

        public ulong NextId() => 1;

        public double NextDouble() => _next < values.Length ? values[_next++] : 0.5;
    }
}
