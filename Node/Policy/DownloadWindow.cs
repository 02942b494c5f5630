using System.Globalization;

namespace PeerPatch.Node.Policy;

/// <summary>A daily window "HH:mm-HH:mm" in local time; it wraps midnight when the end is before the start ("19:00-07:00").</summary>
internal readonly record struct DownloadWindow(TimeOnly Start, TimeOnly End)
{
    public bool Contains(TimeOnly time) => Start < End ? time >= Start && time < End : time >= Start || time < End;

    public static bool TryParse(string text, out DownloadWindow window)
    {
        window = default;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0
            || !TimeOnly.TryParseExact(text[..dash].Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start)
            || !TimeOnly.TryParseExact(text[(dash + 1)..].Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var end)
            || start == end)
        {
            return false;
        }

        window = new DownloadWindow(start, end);
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Start:HH\\:mm}-{End:HH\\:mm}");
}
