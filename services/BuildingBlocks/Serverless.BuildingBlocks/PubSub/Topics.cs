using System.Text.RegularExpressions;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>A topic a module publishes to. Publishing to a topic nobody declared or subscribed to is an error.</summary>
public sealed record TopicDescriptor(string Name, string? Description = null);

/// <summary>One named subscription of a handler to a topic. Instances sharing the name compete for its events.</summary>
public sealed record SubscriptionDescriptor(string Name, string Topic, Type HandlerType);

/// <summary>The topics and subscriptions this process knows, from DI registrations.</summary>
public sealed partial class TopicRegistry
{
    public const int MaxNameLength = 128;

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

        Topics = topics.Concat(Subscriptions.Select(s => new TopicDescriptor(s.Topic)))
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .Select(g => g.FirstOrDefault(t => t.Description is not null) ?? g.First())
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var t in Topics)
        {
            ValidateName(t.Name);
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

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
