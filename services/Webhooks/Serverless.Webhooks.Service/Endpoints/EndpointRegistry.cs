using System.Net;
using Azure.Messaging;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Service.Endpoints;

/// <summary>
/// Outbound endpoints: create (secret shown once), read, patch, delete, rotate the secret (old one keeps signing
/// during a grace period), enable/disable. Every URL passes the SSRF check at registration: its host must resolve
/// only to permitted addresses (the delivery worker checks again at connect time). With a <c>catalogue</c>, event type
/// filters that no delivered event can match are refused when an endpoint is created or its filters are set.
/// </summary>
public sealed class EndpointRegistry(
    IStateStore state,
    TimeProvider time,
    OutboundDestinationPolicy destinations,
    Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null,
    EventTypeCatalogue? catalogue = null)
{
    public static readonly TimeSpan DefaultRotationGrace = TimeSpan.FromHours(24);
    private const string KeyPrefix = "webhooks||endpoint||";

    /// <summary>How long the fan-out's view of the enabled endpoints is trusted before it is read again.</summary>
    public static readonly TimeSpan SubscriberRefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve = resolve ?? ((host, ct) => Dns.GetHostAddressesAsync(host, ct));
    private readonly RefreshingView<SubscriberView> _view = new(time, SubscriberRefreshInterval);

    private sealed record SubscriberView(IReadOnlyList<EndpointSubscriber> Subscribers, IReadOnlyDictionary<string, WebhookEndpoint> All);

    /// <summary>
    /// The enabled endpoints with their compiled event-type filters, for the delivery fan-out. Listing every
    /// endpoint per event made fan-out cost grow with events × endpoints; the view is re-read at most once per
    /// <see cref="SubscriberRefreshInterval"/>, and at once after a change made through this instance, so a
    /// change made on another instance reaches this one's fan-out within the interval.
    /// </summary>
    public async Task<IReadOnlyList<EndpointSubscriber>> SubscribersAsync(CancellationToken cancellationToken = default) =>
        (await ViewAsync(cancellationToken).ConfigureAwait(false)).Subscribers;

    /// <summary>
    /// An endpoint as the delivery worker uses it, from the same view as <see cref="SubscribersAsync"/> (so an
    /// attempt costs no endpoint read); one created on another instance since the view was read is read directly.
    /// </summary>
    public async Task<WebhookEndpoint?> GetForDeliveryAsync(string id, CancellationToken cancellationToken = default) =>
        (await ViewAsync(cancellationToken).ConfigureAwait(false)).All.TryGetValue(id, out var endpoint) ? endpoint : await GetAsync(id, cancellationToken).ConfigureAwait(false);

    private Task<SubscriberView> ViewAsync(CancellationToken cancellationToken) => _view.GetAsync(ReadViewAsync, cancellationToken);

    private async Task<SubscriberView> ReadViewAsync(CancellationToken cancellationToken)
    {
        var all = new Dictionary<string, WebhookEndpoint>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var (items, next) = await ListAsync(StateKeys.MaxPageSize, cursor, cancellationToken).ConfigureAwait(false);
            foreach (var endpoint in items)
            {
                all[endpoint.Id] = endpoint;
            }

            cursor = next;
        }
        while (cursor is not null);

        var subscribers = all.Values.Where(e => e.Enabled).Select(e => new EndpointSubscriber(e.Id, EventTypeFilter.Create(e.EventTypes))).ToList();
        return new SubscriberView(subscribers, all);
    }

    public async Task<EndpointChange<EndpointWithSecret>> CreateAsync(EndpointRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = await ValidateAsync(request, checkEventTypes: true, cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            return new(problems, null);
        }

        var now = time.GetUtcNow();
        var secret = WebhookSecret.Generate();
        var endpoint = new WebhookEndpoint(
            TimeOrderedId.Next(now), request.Url!, Clean(request.EventTypes), request.Description, request.RateLimitPerSecond, Clean(request.Headers),
            secret.Reveal(), null, null, Enabled: true, DisabledReason: null, now, now);
        await state.SaveJsonAsync(KeyPrefix + endpoint.Id, endpoint, new StateWriteOptions(OnlyIfAbsent: true), cancellationToken).ConfigureAwait(false);
        _view.Invalidate();
        return new([], new EndpointWithSecret(EndpointView.From(endpoint), secret.Reveal()));
    }

    public async Task<WebhookEndpoint?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        TimeOrderedId.IsWellFormed(id) ? (await state.GetJsonAsync<WebhookEndpoint>(KeyPrefix + id, cancellationToken).ConfigureAwait(false))?.Value : null;

    public async Task<(IReadOnlyList<WebhookEndpoint> Items, string? NextCursor)> ListAsync(int limit, string? cursor, CancellationToken cancellationToken = default)
    {
        var page = await state.GetJsonPageAsync<WebhookEndpoint>(KeyPrefix, limit, cursor, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (page.Items, page.NextCursor);
    }

    /// <summary>
    /// Applies a JSON merge patch (RFC 7396: an absent member is unchanged, an explicit null removes the field) and
    /// validates the result as a whole.
    /// </summary>
    public async Task<EndpointChange<EndpointView>?> UpdateAsync(string id, EndpointPatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return await ChangeAsync<EndpointView>(id, async current =>
        {
            if (patch.Validate() is { Count: > 0 } patchProblems)
            {
                return (patchProblems, null, null);
            }

            var merged = patch.ApplyTo(new EndpointRequest(
                current.Url, current.EventTypes, current.Description, current.RateLimitPerSecond, current.Headers.ToDictionary(h => h.Key, h => (string?)h.Value)));
            // Event types are checked against the catalogue only when the patch sets them: an endpoint stored with a
            // filter that no longer matches anything (topics configured differently since) can still change its URL.
            var problems = await ValidateAsync(merged, checkEventTypes: patch.HasEventTypes, cancellationToken).ConfigureAwait(false);
            if (problems.Count > 0)
            {
                return (problems, null, null);
            }

            var updated = current with
            {
                Url = merged.Url!,
                EventTypes = Clean(merged.EventTypes),
                Description = merged.Description,
                RateLimitPerSecond = merged.RateLimitPerSecond,
                Headers = Clean(merged.Headers),
                UpdatedAt = time.GetUtcNow(),
            };
            return ([], updated, EndpointView.From(updated));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<EndpointWithSecret?> RotateSecretAsync(string id, TimeSpan? grace = null, CancellationToken cancellationToken = default)
    {
        var next = WebhookSecret.Generate();
        var change = await ChangeAsync<EndpointWithSecret>(id, current =>
        {
            var now = time.GetUtcNow();
            var rotated = current.Secrets().Rotate(next, now, grace ?? DefaultRotationGrace);
            var updated = current with { Secret = next.Reveal(), PreviousSecret = rotated.Previous!.Reveal(), PreviousValidUntil = rotated.PreviousValidUntil, UpdatedAt = now };
            return Task.FromResult<(IReadOnlyList<FieldProblem>, WebhookEndpoint?, EndpointWithSecret?)>(([], updated, new EndpointWithSecret(EndpointView.From(updated), next.Reveal())));
        }, cancellationToken).ConfigureAwait(false);
        return change?.Result;
    }

    /// <summary>Enables or disables an endpoint (a disabled one receives nothing); the reason is shown to operators.</summary>
    public async Task<EndpointView?> SetEnabledAsync(string id, bool enabled, string? reason, CancellationToken cancellationToken = default)
    {
        var change = await ChangeAsync<EndpointView>(id, current =>
        {
            var updated = current with { Enabled = enabled, DisabledReason = enabled ? null : reason, UpdatedAt = time.GetUtcNow() };
            return Task.FromResult<(IReadOnlyList<FieldProblem>, WebhookEndpoint?, EndpointView?)>(([], updated, EndpointView.From(updated)));
        }, cancellationToken).ConfigureAwait(false);
        return change?.Result;
    }

    /// <summary>
    /// Disables an endpoint the delivery worker gave up on and queues the event <paramref name="announce"/> makes of it
    /// (on <paramref name="topic"/>) in the outbox of the same transaction: the event is published exactly when the
    /// endpoint was disabled, and a crash right after cannot lose it. Null, and nothing published, when the endpoint is
    /// gone or was disabled already (say by a concurrent attempt that also got 410).
    /// </summary>
    public async Task<EndpointView?> DisableAsync(string id, string reason, string topic, Func<WebhookEndpoint, CloudEvent> announce, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(announce);
        var change = await ChangeAsync<EndpointView>(id, current =>
        {
            if (!current.Enabled)
            {
                return Task.FromResult<(IReadOnlyList<FieldProblem>, WebhookEndpoint?, EndpointView?)>(([], null, null));
            }

            var updated = current with { Enabled = false, DisabledReason = reason, UpdatedAt = time.GetUtcNow() };
            return Task.FromResult<(IReadOnlyList<FieldProblem>, WebhookEndpoint?, EndpointView?)>(([], updated, EndpointView.From(updated)));
        }, cancellationToken, updated => new OutboxEvent(topic, announce(updated))).ConfigureAwait(false);
        return change?.Result;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!TimeOrderedId.IsWellFormed(id))
        {
            return false;
        }

        var deleted = await state.DeleteAsync(KeyPrefix + id, cancellationToken: cancellationToken).ConfigureAwait(false);
        _view.Invalidate();
        return deleted;
    }

    /// <summary>
    /// Read, change, write with the ETag read; a concurrent change makes it read and apply again. <paramref name="publish"/>
    /// gives an event to queue in the outbox of the same transaction as the write.
    /// </summary>
    private async Task<EndpointChange<T>?> ChangeAsync<T>(
        string id,
        Func<WebhookEndpoint, Task<(IReadOnlyList<FieldProblem> Problems, WebhookEndpoint? Updated, T? Result)>> change,
        CancellationToken cancellationToken,
        Func<WebhookEndpoint, OutboxEvent>? publish = null)
        where T : class
    {
        if (!TimeOrderedId.IsWellFormed(id))
        {
            return null;
        }

        while (true)
        {
            var current = await state.GetJsonAsync<WebhookEndpoint>(KeyPrefix + id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return null;
            }

            var (problems, updated, result) = await change(current.Value).ConfigureAwait(false);
            if (problems.Count > 0 || updated is null)
            {
                return new(problems, null);
            }

            try
            {
                var options = new StateWriteOptions(ETag: current.ETag);
                if (publish?.Invoke(updated) is { } announced)
                {
                    await state.TransactAsync(new StateTransaction().UpsertJson(KeyPrefix + id, updated, options).Publish(announced.Topic, announced.Event), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await state.SaveJsonAsync(KeyPrefix + id, updated, options, cancellationToken).ConfigureAwait(false);
                }

                _view.Invalidate();
                return new([], result);
            }
            catch (ETagMismatchException)
            {
                // Someone else changed it meanwhile: apply this change to their version.
            }
        }
    }

    private async Task<IReadOnlyList<FieldProblem>> ValidateAsync(EndpointRequest request, bool checkEventTypes, CancellationToken cancellationToken)
    {
        var problems = EndpointRequestValidator.Validate(request, checkEventTypes ? catalogue : null).ToList();
        if (!problems.Any(p => p.Path == "url") && request.Url is not null)
        {
            var check = await WebhookUrl.CheckAsync(request.Url, destinations, _resolve, cancellationToken).ConfigureAwait(false);
            if (!check.Permitted)
            {
                problems.Add(new FieldProblem("url", check.Problem ?? "this destination is not permitted"));
            }
        }

        return problems;
    }

    private static List<string> Clean(IReadOnlyList<string?>? values) => values?.Where(v => v is not null).Select(v => v!).ToList() ?? [];

    private static Dictionary<string, string> Clean(IReadOnlyDictionary<string, string?>? headers) =>
        headers?.Where(h => h.Value is not null).ToDictionary(h => h.Key, h => h.Value!, StringComparer.OrdinalIgnoreCase) ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>An enabled endpoint as the fan-out sees it: its id and its compiled event-type filter.</summary>
public sealed record EndpointSubscriber(string Id, EventTypeFilter Filter);
