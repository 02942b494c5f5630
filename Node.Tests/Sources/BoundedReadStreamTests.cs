using FsCheck;
using FsCheck.Fluent;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Tests.Sources;

public sealed class BoundedReadStreamTests
{
    [Fact]
    public void ReadsExactlyUpToTheBound_AndTellsWhetherTheInputWentOn()
    {
        var cases =
            from length in Gen.Choose(0, 5000)
            from bound in Gen.Choose(0, 6000)
            from chunk in Gen.Choose(1, 700)
            from async in Gen.Elements(false, true)
            select (length, bound, chunk, async);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var data = new byte[c.length];
            new Random(c.length ^ c.bound).NextBytes(data);
            var bounded = new BoundedReadStream(new MemoryStream(data), c.bound);
            var read = new MemoryStream();
            var buffer = new byte[c.chunk];
            int n;
            while ((n = c.async ? bounded.ReadAsync(buffer).AsTask().GetAwaiter().GetResult() : bounded.Read(buffer, 0, buffer.Length)) > 0)
            {
                read.Write(buffer, 0, n);
            }

            Assert.Equal(data.AsSpan(0, Math.Min(c.length, c.bound)).ToArray(), read.ToArray());
            Assert.Equal(c.length > c.bound, bounded.Exceeded);
            Assert.Equal(0, bounded.Read(buffer, 0, buffer.Length)); // ended stays ended
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
