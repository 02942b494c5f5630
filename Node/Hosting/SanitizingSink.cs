using PeerPatch.Protocol.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// Sits in front of every sink of the node's logger, so that no call site can forget: each string that reaches a
/// log line (every string property at any depth, any other non-primitive value's text, dictionary keys, the message
/// template's own text, and the exception) goes through <see cref="LogText.Sanitize"/>: URL secrets masked, control
/// characters as visible escapes. A patch name, a URL or a host name can then never end a line, start a fake event,
/// or drive a terminal. Properties stay properties of the same names and nesting (numbers stay numbers); only their
/// text is escaped. Exceptions keep their lines, each escaped and indented, so no line of a stack trace can start like
/// an event. Events without anything to change pass through as they are.
/// </summary>
internal sealed class SanitizingSink(ILogEventSink inner) : ILogEventSink
{
    private static readonly MessageTemplateParser Parser = new();

    public void Emit(LogEvent logEvent) => inner.Emit(Sanitize(logEvent));

    /// <summary>The event as the sinks may see it; the same instance when nothing in it needs escaping.</summary>
    internal static LogEvent Sanitize(LogEvent logEvent)
    {
        var template = logEvent.MessageTemplate;
        var text = LogText.Sanitize(template.Text);
        var changed = text != template.Text;
        if (changed)
        {
            template = Parser.Parse(text);
        }

        var properties = new List<LogEventProperty>(logEvent.Properties.Count);
        foreach (var (name, value) in logEvent.Properties)
        {
            var clean = Clean(value);
            changed |= !ReferenceEquals(clean, value);
            properties.Add(new LogEventProperty(name, clean));
        }

        if (!changed && logEvent.Exception is null)
        {
            return logEvent;
        }

        var exception = logEvent.Exception is null or SanitizedException ? logEvent.Exception : new SanitizedException(logEvent.Exception);
        return new LogEvent(logEvent.Timestamp, logEvent.Level, exception, template, properties, logEvent.TraceId ?? default, logEvent.SpanId ?? default);
    }

    /// <summary>The value with its text sanitized; the same instance when nothing changes.</summary>
    internal static LogEventPropertyValue Clean(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue scalar:
                return CleanScalar(scalar);
            case SequenceValue sequence:
            {
                var elements = sequence.Elements.Select(Clean).ToList();
                return elements.Where((e, i) => !ReferenceEquals(e, sequence.Elements[i])).Any() ? new SequenceValue(elements) : sequence;
            }

            case StructureValue structure:
            {
                var props = structure.Properties.Select(p => new LogEventProperty(p.Name, Clean(p.Value))).ToList();
                return props.Where((p, i) => !ReferenceEquals(p.Value, structure.Properties[i].Value)).Any() ? new StructureValue(props, structure.TypeTag) : structure;
            }

            case DictionaryValue dictionary:
            {
                var pairs = dictionary.Elements.Select(kv => KeyValuePair.Create(CleanScalar(kv.Key), Clean(kv.Value))).ToList();
                var same = pairs.Zip(dictionary.Elements).All(x => ReferenceEquals(x.First.Key, x.Second.Key) && ReferenceEquals(x.First.Value, x.Second.Value));
                return same ? dictionary : new DictionaryValue(pairs);
            }

            default:
                return value;
        }
    }

    private static ScalarValue CleanScalar(ScalarValue scalar)
    {
        var raw = scalar.Value switch
        {
            null or bool or byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal
                or DateTime or DateTimeOffset or TimeSpan or Guid or Enum => null,
            string s => s,
            char c => c.ToString(),
            var other => other.ToString() ?? string.Empty, // an IPEndPoint, a Uri, an exception... rendered as text anyway
        };
        if (raw is null)
        {
            return scalar;
        }

        var clean = LogText.Sanitize(raw);
        return clean == raw ? scalar : new ScalarValue(clean);
    }

    /// <summary>Renders the original exception with each line sanitized and indented (Serilog's sinks render ToString()).</summary>
    internal sealed class SanitizedException(Exception original) : Exception(LogText.Sanitize(original.Message), original)
    {
        /// <summary>What starts every line of an exception in the log: no such line can look like the start of an event.</summary>
        public const string Indent = "  ";

        public override string ToString()
        {
            var original = InnerException!;
            string text;
            try
            {
                text = original.ToString();
            }
            catch (Exception e)
            {
                text = $"{original.GetType().FullName} (its text failed: {e.Message})";
            }

            var lines = text.Split('\n');
            return string.Join(Environment.NewLine, lines.Select(l => Indent + LogText.Sanitize(l.TrimEnd('\r'))));
        }
    }
}
