// The suite drives real Linux processes (/proc, signals, network namespaces later): it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Parallelism (issue 14): every test class is its own collection, and collections run in parallel, at most
// maxParallelThreads (xunit.runner.json) tests at once ("conservative": a new test starts only when one ends). Tests
// that start real node processes mostly wait on them, so on 2 cores more classes than cores run at once. What made
// them depend on each other is gone: loopback ports come from one process-wide allocator below the ephemeral range
// (Support/FreePorts.cs), each loopback LAN has its own mDNS port (Support/LoopbackMdns.cs), and each
// network-namespace LAN has its own names and subnet (Support/NetnsLan.cs). The only classes that run alone are the
// two that load both cores by design (Support/CpuHeavy.cs: the reason is written there); the longest classes start
// first (Support/SlowFirstOrderer.cs).
[assembly: TestCollectionOrderer("PeerPatch.Node.Tests.Support.SlowFirstOrderer", "PeerPatch.Node.Tests")]
