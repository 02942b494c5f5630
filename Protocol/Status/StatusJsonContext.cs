using System.Text.Json;
using System.Text.Json.Serialization;

namespace PeerPatch.Protocol.Status;

/// <summary>
/// The System.Text.Json source-generated metadata of every status document (web casing): no reflection, so the
/// node and peerpatch-diag serialize and read them the same way under Native AOT. A node's HTTP endpoints chain it
/// in front of their own context.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(NodeStatus))]
[JsonSerializable(typeof(LanSnapshot))]
[JsonSerializable(typeof(IReadOnlyList<MemberStatus>))]
[JsonSerializable(typeof(List<MemberStatus>))]
[JsonSerializable(typeof(IReadOnlyList<NodeEvent>))]
[JsonSerializable(typeof(IReadOnlyList<HistorySample>))]
[JsonSerializable(typeof(List<HistorySample>))]
[JsonSerializable(typeof(IEnumerable<PatchEntry>))]
[JsonSerializable(typeof(List<PatchEntry>))]
[JsonSerializable(typeof(IReadOnlyList<InventoryEntry>))]
[JsonSerializable(typeof(IReadOnlyList<SourceFault>))]
[JsonSerializable(typeof(List<SourceFault>))]
[JsonSerializable(typeof(Http.PieceList))]
[JsonSerializable(typeof(ComplianceReport))]
[JsonSerializable(typeof(ComplianceReply))]
[JsonSerializable(typeof(ComplianceView))]
[JsonSerializable(typeof(PolicyReply))]
[JsonSerializable(typeof(PolicyProblems))]
public sealed partial class StatusJsonContext : JsonSerializerContext;
