using FsCheck;
using FsCheck.Xunit;
using PeerPatch.Node.Serving;

namespace PeerPatch.Node.Tests.Serving;

/// <summary>
/// <see cref="OrdinalKeys"/> must key the lookup path's dictionaries exactly as the tuples' own equality did: the same
/// verdict on any two keys (strings that differ only in case, culture-equal forms or one character are different
/// patches), and the same hash for equal keys.
/// </summary>
public sealed class OrdinalKeysTests
{
    private static readonly string[] Tricky = ["", "a", "A", "ß", "ss", "e\u0301", "\u00e9", "KB-1", "kb-1", "1:2.3+dfsg-1~deb12u1", "x\0y"];

    [Property(MaxTest = 500)]
    public void AgreesWithTheTuplesOwnEquality(byte[] picks, string?[] free)
    {
        var pool = Tricky.Concat(free.Where(s => s is not null).Select(s => s!)).ToArray();
        string Pick(int i) => picks.Length == 0 ? pool[i % pool.Length] : pool[picks[i % picks.Length] % pool.Length];
        for (var i = 0; i + 5 < Math.Max(12, picks.Length); i += 6)
        {
            var x = (Pick(i), Pick(i + 1), Pick(i + 2));
            var y = (Pick(i + 3), Pick(i + 4), Pick(i + 5));
            Assert.Equal(x.Equals(y), OrdinalKeys.Instance.Equals(x, y));
            Assert.Equal((x.Item1, x.Item2).Equals((y.Item1, y.Item2)), OrdinalKeys.Instance.Equals((x.Item1, x.Item2), (y.Item1, y.Item2)));
            var copy = (new string(x.Item1.AsSpan()), new string(x.Item2.AsSpan()), new string(x.Item3.AsSpan())); // equal, not the same objects
            Assert.True(OrdinalKeys.Instance.Equals(x, copy));
            Assert.Equal(OrdinalKeys.Instance.GetHashCode(x), OrdinalKeys.Instance.GetHashCode(copy));
            Assert.Equal(OrdinalKeys.Instance.GetHashCode((x.Item1, x.Item2)), OrdinalKeys.Instance.GetHashCode((copy.Item1, copy.Item2)));
        }
    }

    [Fact]
    public void FieldsDoNotRunTogether()
    {
        Assert.False(OrdinalKeys.Instance.Equals(("ab", "c", "d"), ("a", "bc", "d")));
        Assert.False(OrdinalKeys.Instance.Equals(("a", "b"), ("b", "a")));
        Assert.False(OrdinalKeys.Instance.Equals(("KB-1", "x", "y"), ("kb-1", "x", "y")));
    }
}
