namespace PeerPatch.Protocol;

/// <summary>Format checks for the values that cross the wire. Pure functions, no I/O.</summary>
public static class WireFormat
{
    /// <summary>A SHA-256 as 64 lowercase hex digits.</summary>
    public static bool IsSha256(string? value)
    {
        if (value is null || value.Length != 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An OS version key: 1-64 of [a-z0-9._-], starting with a letter or digit.</summary>
    public static bool IsOsVersion(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > ProtocolLimits.MaxOsVersionLength || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A patch name: 1-255 printable characters, no control characters. Names are opaque data
    /// (they may contain '/' or '..'); nothing ever turns one into a file path.
    /// </summary>
    public static bool IsPatchName(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > ProtocolLimits.MaxPatchNameLength)
        {
            return false;
        }

        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            if (System.Text.Rune.DecodeFromUtf16(rest, out var rune, out var used) != System.Buffers.OperationStatus.Done
                || System.Text.Rune.IsControl(rune))
            {
                return false; // a control character or a lone surrogate
            }

            rest = rest[used..];
        }

        return true;
    }

    /// <summary>A node or instance id: 1-64 of [A-Za-z0-9_-].</summary>
    public static bool IsNodeId(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > ProtocolLimits.MaxNodeIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Optional free text of bounded length.</summary>
    public static bool IsDetail(string? value) => value is null || value.Length <= ProtocolLimits.MaxDetailLength;

    /// <summary>A blob URL: absolute http(s), or a path starting with "/v1/blobs/".</summary>
    public static bool IsBlobUrl(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > ProtocolLimits.MaxUrlLength)
        {
            return false;
        }

        if (value.StartsWith(Http.BlobUrl.Prefix, StringComparison.Ordinal))
        {
            return IsSha256(value[Http.BlobUrl.Prefix.Length..]);
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
    }

    /// <summary>A size within what a message may declare.</summary>
    public static bool IsSize(long value) => value >= 0 && value <= ProtocolLimits.MaxPatchBytes;
}
