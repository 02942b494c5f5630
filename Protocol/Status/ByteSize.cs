namespace PeerPatch.Protocol.Status;

/// <summary>How the command-line tools show a byte count from a status document (binary units, one decimal).</summary>
public static class ByteSize
{
    public static string Format(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{n / 1024.0:0.0} KiB",
        _ => $"{n} B",
    };
}
