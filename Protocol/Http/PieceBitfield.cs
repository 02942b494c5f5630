using System.Diagnostics.CodeAnalysis;

namespace PeerPatch.Protocol.Http;

/// <summary>
/// Which pieces of a blob a node that is still fetching it has verified (<see cref="ApiHeaders.PiecesHeld"/>, sent
/// with its answers to a piece request): lowercase hex, piece i is bit 7 - (i % 8) of byte i / 8 (the order of
/// BitTorrent's bitfield), the spare bits of the last byte zero. An asker uses it only to choose which piece to ask
/// that node for next; the bytes are still checked against the piece list and the upstream hash.
/// </summary>
public static class PieceBitfield
{
    /// <summary>Most pieces a bitfield is sent for (a header of 8 KiB); a blob with more is sent none.</summary>
    public const int MaxPieces = 8 * 4096;

    /// <summary>The bitfield of <paramref name="count"/> pieces, or null when there are more than <see cref="MaxPieces"/>.</summary>
    public static string? Format(int count, Func<int, bool> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        if (count is < 0 or > MaxPieces)
        {
            return null;
        }

        var bytes = new byte[(count + 7) / 8];
        for (var i = 0; i < count; i++)
        {
            if (held(i))
            {
                bytes[i / 8] |= (byte)(0x80 >> (i % 8));
            }
        }

        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>
    /// Reads the bitfield of a blob of <paramref name="count"/> pieces: exactly (count + 7) / 8 bytes of lowercase hex,
    /// spare bits zero. Anything else (an untrusted peer's header) is refused, never guessed at.
    /// </summary>
    public static bool TryParse(string? text, int count, [NotNullWhen(true)] out bool[]? held)
    {
        held = null;
        if (text is null || count is < 0 or > MaxPieces || text.Length != (count + 7) / 8 * 2)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        var bytes = Convert.FromHexString(text);
        if (count % 8 != 0 && (bytes[^1] & (0xFF >> (count % 8))) != 0)
        {
            return false;
        }

        held = new bool[count];
        for (var i = 0; i < count; i++)
        {
            held[i] = (bytes[i / 8] & (0x80 >> (i % 8))) != 0;
        }

        return true;
    }
}
