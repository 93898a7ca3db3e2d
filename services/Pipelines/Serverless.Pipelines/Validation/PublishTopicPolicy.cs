using System.Text.RegularExpressions;

namespace Serverless.Pipelines.Validation;

/// <summary>
/// Which topics a <c>publish</c> step may post to. A pipeline document is written by anyone with an operator key,
/// so it must never reach the platform's own topics: a forged <c>pipeline.step.result</c> would decide another run's
/// step, a forged <c>scm.push</c> would start pipelines without a signed webhook. Rules, in order:
/// <list type="number">
/// <item>Reserved topics are always refused: every <c>pipeline.*</c> topic outside <c>pipeline.custom.*</c> (dispatch,
/// results, run and step events) and every <c>scm.*</c> topic (pushes, which start pipelines).</item>
/// <item>The topic must be on the allow list (<c>Pipelines:Publish:AllowedTopics</c>): exact names, or <c>prefix.*</c>
/// for every topic under a prefix. The default is <see cref="DefaultPattern"/>.</item>
/// <item>When the host says which topics are declared, the topic must be one (the bus refuses the others anyway).</item>
/// </list>
/// </summary>
public sealed partial class PublishTopicPolicy
{
    /// <summary>Topics under this prefix are meant for pipelines to publish: the default allow list.</summary>
    public const string DefaultPattern = "pipeline.custom.*";

    private const string CustomPrefix = "pipeline.custom.";
    private const int MaxTopicLength = 128;

    private readonly Func<string, bool>? _isDeclared;

    public PublishTopicPolicy(IEnumerable<string> allowed, Func<string, bool>? isDeclared = null)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        Allowed = allowed.Select(a => a.Trim()).Where(a => a.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        _isDeclared = isDeclared;
    }

    /// <summary>Only <c>pipeline.custom.*</c>, with no knowledge of declared topics (the pure core's default).</summary>
    public static PublishTopicPolicy Default { get; } = new([DefaultPattern]);

    /// <summary>Exact topic names and <c>prefix.*</c> patterns.</summary>
    public IReadOnlyList<string> Allowed { get; }

    /// <summary>Topics no configuration can open to pipelines: the pipelines capability's own and pushes.</summary>
    public static bool IsReserved(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return (topic.StartsWith("pipeline.", StringComparison.Ordinal) && !topic.StartsWith(CustomPrefix, StringComparison.Ordinal))
            || topic.StartsWith("scm.", StringComparison.Ordinal);
    }

    /// <summary>Why a publish step may not post to <paramref name="topic"/>, or null when it may.</summary>
    public string? Problem(string topic)
    {
        if (string.IsNullOrEmpty(topic))
        {
            return "required";
        }

        if (topic.Length > MaxTopicLength || !NamePattern().IsMatch(topic))
        {
            return $"'{topic}' is not a topic name (lower-case letters, digits, '.', '-' and '_', at most {MaxTopicLength} characters)";
        }

        if (IsReserved(topic))
        {
            return $"'{topic}' is a platform topic; publish steps may not post to pipeline.* (other than {DefaultPattern}) or scm.* topics";
        }

        if (!Allowed.Any(a => Matches(a, topic)))
        {
            return $"publish steps may only post to the allowed topics ({(Allowed.Count == 0 ? "none" : string.Join(", ", Allowed))}; setting Pipelines:Publish:AllowedTopics), not '{topic}'";
        }

        if (_isDeclared is not null && !_isDeclared(topic))
        {
            return $"the topic '{topic}' is not declared on this platform (list it by name in Pipelines:Publish:AllowedTopics to declare it)";
        }

        return null;
    }

    private static bool Matches(string allowed, string topic) =>
        allowed.EndsWith(".*", StringComparison.Ordinal)
            ? topic.Length > allowed.Length - 1 && topic.StartsWith(allowed[..^1], StringComparison.Ordinal)
            : string.Equals(allowed, topic, StringComparison.Ordinal);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
