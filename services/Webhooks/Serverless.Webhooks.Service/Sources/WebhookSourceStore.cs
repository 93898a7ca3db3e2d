using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Service.Sources;

/// <summary>A source as the receiver uses it: its definition, its verifier and its rate limiter, built once per version.</summary>
public sealed record ActiveSource(WebhookSource Definition, WebhookKind Kind, IWebhookVerifier Verifier, bool FromConfiguration);

/// <summary>
/// Inbound sources: defined in configuration (<c>Webhooks:Sources:{name}</c>, read-only) or through the API
/// (state key <c>webhooks||source||{name}</c>). A stored source is read at most once per
/// <see cref="RefreshInterval"/> per instance (verifier and rate limiter are rebuilt only when its version
/// changed), so the inbound path does no state read per request; a change takes effect at once on the
/// instance that made it and within the interval on every other instance.
/// </summary>
public sealed class WebhookSourceStore
{
    private const string KeyPrefix = "webhooks||source||";

    private readonly IStateStore _state;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ActiveSource> _configured;
    private readonly ConcurrentDictionary<string, CachedSource> _stored = new(StringComparer.Ordinal);

    /// <summary>How long a stored source (or its absence) is trusted before it is read again.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private sealed record CachedSource(string? ETag, ActiveSource? Source, DateTimeOffset ReadAt);

    public WebhookSourceStore(IStateStore state, TimeProvider time, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _state = state;
        _time = time;
        _configured = new Dictionary<string, ActiveSource>(StringComparer.Ordinal);
        foreach (var section in configuration.GetSection("Webhooks:Sources").GetChildren())
        {
            var source = new WebhookSource(
                section.Key,
                section["Kind"] ?? string.Empty,
                section.GetSection("Secrets").GetChildren().Select(s => s.Value ?? string.Empty).ToList(),
                section.GetSection("Options").Get<WebhookSourceOptions>());
            var problems = WebhookSourceValidator.Validate(source);
            if (problems.Count > 0)
            {
                throw new Serverless.BuildingBlocks.Hosting.ServerlessConfigurationException(
                    $"Webhooks:Sources:{section.Key}", string.Join("; ", problems));
            }

            _configured[source.Name] = Activate(source, fromConfiguration: true);
        }
    }

    public async Task<ActiveSource?> FindAsync(string name, CancellationToken cancellationToken = default)
    {
        if (_configured.TryGetValue(name, out var configured))
        {
            return configured;
        }

        if (!IsValidName(name))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        _stored.TryGetValue(name, out var cached);
        if (cached is not null && now - cached.ReadAt < RefreshInterval)
        {
            return cached.Source;
        }

        var item = await _state.GetAsync(KeyPrefix + name, cancellationToken).ConfigureAwait(false);
        if (item is null)
        {
            _stored[name] = new CachedSource(null, null, now);
            return null;
        }

        // The same version keeps its verifier and, above all, its rate limiter's state.
        var active = cached is { Source: not null } && cached.ETag == item.ETag
            ? cached.Source
            : Activate(item.Deserialize<WebhookSource>(), fromConfiguration: false);
        _stored[name] = new CachedSource(item.ETag, active, now);
        return active;
    }

    /// <summary>Creates or replaces a source. Returns its problems (nothing saved) when it is invalid.</summary>
    public async Task<IReadOnlyList<ConfigurationProblem>> SaveAsync(WebhookSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var problems = WebhookSourceValidator.Validate(source);
        if (problems.Count == 0)
        {
            await _state.SaveJsonAsync(KeyPrefix + source.Name, source, cancellationToken: cancellationToken).ConfigureAwait(false);
            _stored.TryRemove(source.Name, out _);
        }

        return problems;
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!IsValidName(name))
        {
            return false;
        }

        var deleted = await _state.DeleteAsync(KeyPrefix + name, cancellationToken: cancellationToken).ConfigureAwait(false);
        _stored.TryRemove(name, out _);
        return deleted;
    }

    public bool IsConfigured(string name) => _configured.ContainsKey(name);

    /// <summary>Every source, configured ones first, by name.</summary>
    public async Task<IReadOnlyList<ActiveSource>> ListAsync(CancellationToken cancellationToken = default)
    {
        var all = _configured.Values.OrderBy(s => s.Definition.Name, StringComparer.Ordinal).ToList();
        string? token = null;
        do
        {
            var page = await _state.ListKeysAsync(KeyPrefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            foreach (var key in page.Keys)
            {
                if (await FindAsync(key[KeyPrefix.Length..], cancellationToken).ConfigureAwait(false) is { FromConfiguration: false } stored)
                {
                    all.Add(stored);
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return all;
    }

    private static ActiveSource Activate(WebhookSource source, bool fromConfiguration)
    {
        var verifier = WebhookVerifiers.For(source); // validates, so the kind below is known
        _ = WebhookKinds.TryParse(source.Kind, out var kind);
        return new ActiveSource(source, kind, verifier, fromConfiguration);
    }

    private static bool IsValidName(string name) => WebhookSourceValidator.IsValidName(name);
}
