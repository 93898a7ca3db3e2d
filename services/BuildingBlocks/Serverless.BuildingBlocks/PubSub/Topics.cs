using System.Text.RegularExpressions;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// A topic a module publishes to. Publishing to a topic nobody declared or subscribed to is an error.
/// <paramref name="EventTypes"/> are the CloudEvent types its events carry: exact names (<c>pipeline.run.failed</c>),
/// <c>prefix.*</c> for an open family below a prefix, or <c>*</c> for any type. A topic that declares none carries its
/// own name as type (see <see cref="CarriedEventTypes"/>).
/// </summary>
public sealed record TopicDescriptor(string Name, string? Description = null, IReadOnlyList<string>? EventTypes = null)
{
    /// <summary>The event types this topic's events carry: the declared ones, or the topic's own name.</summary>
    public IReadOnlyList<string> CarriedEventTypes => EventTypes is { Count: > 0 } declared ? declared : [Name];
}

/// <summary>One named subscription of a handler to a topic. Instances sharing the name compete for its events.</summary>
public sealed record SubscriptionDescriptor(string Name, string Topic, Type HandlerType);

/// <summary>The topics and subscriptions this process knows, from DI registrations.</summary>
public sealed partial class TopicRegistry
{
    public const int MaxNameLength = 128;

    /// <summary>The longest declared event type (the outbound filters' pattern limit).</summary>
    public const int MaxEventTypeLength = 256;

    private readonly HashSet<string> _topics;

    public TopicRegistry(IEnumerable<TopicDescriptor> topics, IEnumerable<SubscriptionDescriptor> subscriptions)
    {
        Subscriptions = subscriptions.ToList();
        var duplicate = Subscriptions.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Subscription '{duplicate.Key}' is registered more than once.");
        }

        foreach (var s in Subscriptions)
        {
            ValidateName(s.Topic);
            ValidateName(s.Name);
        }

        // A topic declared more than once (by two modules, or by a module and implicitly by a subscription) carries
        // every type any declaration names.
        Topics = topics.Concat(Subscriptions.Select(s => new TopicDescriptor(s.Topic)))
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .Select(g => new TopicDescriptor(
                g.Key,
                g.Select(t => t.Description).FirstOrDefault(d => d is not null),
                g.Any(t => t.EventTypes is { Count: > 0 }) ? g.SelectMany(t => t.EventTypes ?? []).Distinct(StringComparer.Ordinal).ToList() : null))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var t in Topics)
        {
            ValidateName(t.Name);
            foreach (var type in t.EventTypes ?? [])
            {
                ValidateEventTypePattern(t.Name, type);
            }
        }

        _topics = Topics.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
    }

    public IReadOnlyList<TopicDescriptor> Topics { get; }

    public IReadOnlyList<SubscriptionDescriptor> Subscriptions { get; }

    public bool IsKnown(string topic) => _topics.Contains(topic);

    public IEnumerable<SubscriptionDescriptor> SubscriptionsOf(string topic) =>
        Subscriptions.Where(s => string.Equals(s.Topic, topic, StringComparison.Ordinal));

    /// <summary>Throws <see cref="InvalidTopicNameException"/> or <see cref="UnknownTopicException"/>.</summary>
    public void EnsureKnown(string topic)
    {
        ValidateName(topic);
        if (!IsKnown(topic))
        {
            throw new UnknownTopicException(topic);
        }
    }

    /// <summary>Topic and subscription names: lower-case letters, digits, '.', '-' and '_', at most 128 characters.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > MaxNameLength || !NamePattern().IsMatch(name))
        {
            throw new InvalidTopicNameException(name);
        }
    }

    /// <summary>
    /// A declared event type: dot-separated segments of letters, digits, '_' and '-', optionally ending in <c>.*</c>
    /// (a family), or <c>*</c> alone (any type); the same language outbound endpoints filter with.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern breaks these rules.</exception>
    public static void ValidateEventTypePattern(string topic, string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.Length > MaxEventTypeLength || !EventTypePattern().IsMatch(pattern))
        {
            throw new ArgumentException($"Topic '{topic}' declares the event type '{pattern}', which is not a type name, a 'prefix.*' family or '*'.", nameof(pattern));
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex EventTypePattern();
}
