using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Deterministic pseudo-random file content of any size, produced on the fly (a 1 GB patch needs no disk
/// in the fake internet): a random 64 KiB block per seed, with the block number stamped into its first bytes.
/// </summary>
internal sealed class GeneratedContent
{
    public const int BlockBytes = 64 * 1024;
    private readonly byte[] _block;

    public GeneratedContent(long size, int seed)
    {
        Size = size;
        _block = new byte[BlockBytes];
        new Random(seed).NextBytes(_block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BlockBytes];
        for (long offset = 0; offset < size; offset += BlockBytes)
        {
            var n = Fill(buffer, offset);
            hash.AppendData(buffer, 0, n);
        }

        Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public long Size { get; }

    public string Sha256 { get; }

    /// <summary>Fills <paramref name="buffer"/> with the block at <paramref name="offset"/> (a multiple of BlockBytes); returns the byte count.</summary>
    public int Fill(byte[] buffer, long offset)
    {
        var n = (int)Math.Min(BlockBytes, Size - offset);
        _block.AsSpan(0, n).CopyTo(buffer);
        if (n >= 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer, (offset / BlockBytes) ^ BinaryPrimitives.ReadInt64LittleEndian(_block));
        }

        return n;
    }

    public byte[] ToArray()
    {
        var all = new byte[Size];
        var buffer = new byte[BlockBytes];
        for (long offset = 0; offset < Size; offset += BlockBytes)
        {
            var n = Fill(buffer, offset);
            buffer.AsSpan(0, n).CopyTo(all.AsSpan((int)offset));
        }

        return all;
    }
}

/// <summary>A read-only stream of <see cref="GeneratedContent"/> that counts the bytes read from it.</summary>
internal sealed class GeneratedStream(GeneratedContent content) : Stream
{
    private readonly byte[] _block = new byte[GeneratedContent.BlockBytes];
    private long _position;

    /// <summary>Bytes handed out so far.</summary>
    public long BytesRead => Interlocked.Read(ref _position);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => content.Size;

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var position = BytesRead;
        if (position >= content.Size || buffer.IsEmpty)
        {
            return 0;
        }

        var blockStart = position - (position % GeneratedContent.BlockBytes);
        var filled = content.Fill(_block, blockStart);
        var from = (int)(position - blockStart);
        var n = Math.Min(buffer.Length, filled - from);
        _block.AsSpan(from, n).CopyTo(buffer);
        Interlocked.Add(ref _position, n);
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
