using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Serverless.BuildingBlocks.State;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// Since when an endpoint has been failing without a single success, kept in the state store
/// (<c>webhooks||endpoint-failing||{id}</c>) so that neither a restart nor another worker instance resets the
/// clock that disables an endpoint after <see cref="DisableAfter"/> (5 days by default). The first failure after
/// a success stores the clock only if no instance stored one already (the earliest wins); a success clears it.
/// Writes happen only on those transitions, never per delivery.
/// </summary>
public sealed class EndpointFailureClock(IStateStore state, TimeSpan? disableAfter = null)
{
    public static readonly TimeSpan DefaultDisableAfter = TimeSpan.FromDays(5);
    private const string KeyPrefix = "webhooks||endpoint-failing||";

    /// <summary>What this instance knows of each endpoint's clock: a time, or <see cref="Clear"/>.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _known = new(StringComparer.Ordinal);
    private static readonly DateTimeOffset Clear = DateTimeOffset.MinValue;

    public TimeSpan DisableAfter { get; } = disableAfter ?? DefaultDisableAfter;

    /// <summary>Records a success: the endpoint is healthy again and its clock stops.</summary>
    public async Task RecordSuccessAsync(string endpointId, CancellationToken cancellationToken = default)
    {
        if (_known.TryGetValue(endpointId, out var since) && since == Clear)
        {
            return;
        }

        // Unknown here (first result since start) or failing: clear what any instance stored.
        await state.DeleteAsync(KeyPrefix + endpointId, cancellationToken: cancellationToken).ConfigureAwait(false);
        _known[endpointId] = Clear;
    }

    /// <summary>Records a failure; returns since when the endpoint has been failing and whether it is time to disable it.</summary>
    public async Task<(DateTimeOffset FailingSince, bool ShouldDisable)> RecordFailureAsync(string endpointId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (!_known.TryGetValue(endpointId, out var since) || since == Clear)
        {
            since = await StartOrReadAsync(endpointId, now, cancellationToken).ConfigureAwait(false);
            _known[endpointId] = since;
        }

        return (since, now - since >= DisableAfter);
    }

    /// <summary>Forgets an endpoint (deleted, or re-enabled by an operator: its clock starts afresh).</summary>
    public async Task ResetAsync(string endpointId, CancellationToken cancellationToken = default)
    {
        await state.DeleteAsync(KeyPrefix + endpointId, cancellationToken: cancellationToken).ConfigureAwait(false);
        _known.TryRemove(endpointId, out _);
    }

    private async Task<DateTimeOffset> StartOrReadAsync(string endpointId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = KeyPrefix + endpointId;
        for (var attempt = 0; ; attempt++)
        {
            var stored = await state.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                return DateTimeOffset.Parse(Encoding.UTF8.GetString(stored.Value.Span), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            }

            try
            {
                await state.SaveAsync(key, Encoding.UTF8.GetBytes(now.ToString("O", CultureInfo.InvariantCulture)), new StateWriteOptions(OnlyIfAbsent: true), cancellationToken).ConfigureAwait(false);
                return now;
            }
            catch (ETagMismatchException) when (attempt < 3)
            {
                // Another instance started the clock between the read and the write: read theirs.
            }
        }
    }
}
