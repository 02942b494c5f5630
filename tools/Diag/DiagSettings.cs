namespace PeerPatch.Diag;

/// <summary>Where peerpatch-diag looks, and how long it waits.</summary>
/// <param name="Nodes">Node URLs to ask (--node); empty means find the nodes with mDNS.</param>
/// <param name="Interfaces">Interfaces for mDNS (--interface); empty means every up, multicast, non-loopback one.</param>
/// <param name="Listen">How long to listen for mDNS answers (--listen, default 2 s).</param>
/// <param name="HttpTimeout">How long one node may take to answer (--timeout, default 3 s).</param>
internal sealed record DiagSettings(IReadOnlyList<string> Nodes, IReadOnlyList<string> Interfaces, TimeSpan Listen, TimeSpan HttpTimeout);
