namespace PeerPatch.Storage;

/// <summary>Another live node holds the data directory.</summary>
public sealed class DataDirectoryInUseException(string message, Exception inner) : IOException(message, inner);
