// The suite drives real Linux processes (/proc, signals, network namespaces later): it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
