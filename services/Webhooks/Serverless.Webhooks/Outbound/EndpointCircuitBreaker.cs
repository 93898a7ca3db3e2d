namespace Serverless.Webhooks.Outbound;

public enum CircuitState
{
    /// <summary>Deliveries flow.</summary>
    Closed,

    /// <summary>Too many consecutive failures: deliveries wait until the cool-down ends.</summary>
    Open,

    /// <summary>The cool-down ended: one probe delivery decides whether the circuit closes or opens again.</summary>
    HalfOpen,
}

public sealed record CircuitBreakerOptions
{
    public int FailureThreshold { get; init; } = 5;

    public TimeSpan CoolDown { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Whether a delivery may go now. <paramref name="IsProbe"/> marks the single trial send of a half-open circuit.</summary>
public sealed record CircuitDecision(bool Allowed, bool IsProbe, DateTimeOffset? NotBefore)
{
    internal static CircuitDecision Go { get; } = new(true, false, null);

    internal static CircuitDecision Probe { get; } = new(true, true, null);

    internal static CircuitDecision WaitUntil(DateTimeOffset at) => new(false, false, at);
}

/// <summary>The endpoint's health after an attempt was recorded.</summary>
public sealed record EndpointHealth(CircuitState State, int ConsecutiveFailures, DateTimeOffset? FailingSince)
{
    /// <summary>
    /// The deliveries this success released: those <see cref="EndpointCircuitBreaker.Hold"/> recorded while the circuit
    /// was open or its probe in flight (their due entries), to be made due now. Empty after a failure.
    /// </summary>
    public IReadOnlyList<string> Released { get; init; } = [];
}

/// <summary>
/// Per-endpoint circuit breaker with injected time: opens after <see cref="CircuitBreakerOptions.FailureThreshold"/>
/// consecutive failures, lets one probe through after the cool-down, closes on a success. It also tracks since when the
/// endpoint has been failing in this process (the clock that disables an endpoint is kept durably elsewhere).
/// Thread-safe: the delivery worker may record results from several in-flight attempts.
/// Deliveries it turns away wait until the cool-down ends (or, behind a probe in flight, a further cool-down); the worker
/// tells it where each one waits (<see cref="Hold"/>), and the success that closes the circuit hands them all back
/// (<see cref="EndpointHealth.Released"/>) so they go at once instead of waiting out a cool-down the endpoint no longer needs.
/// </summary>
public sealed class EndpointCircuitBreaker
{
    private readonly CircuitBreakerOptions _options;
    private readonly Lock _gate = new();
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private DateTimeOffset? _failingSince;
    private DateTimeOffset _openedAt;
    private DateTimeOffset? _probeSentAt;
    private Dictionary<string, string> _held = new(StringComparer.Ordinal);

    public EndpointCircuitBreaker(CircuitBreakerOptions? options = null)
    {
        _options = options ?? new CircuitBreakerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.FailureThreshold, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.CoolDown, TimeSpan.Zero, nameof(options));
    }

    public CircuitState StateAt(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _state == CircuitState.Open && now >= _openedAt + _options.CoolDown ? CircuitState.HalfOpen : _state;
        }
    }

    /// <summary>
    /// Asks to send. In a half-open circuit only one probe is let through; if its result never arrives (say the
    /// worker crashed) another probe is allowed after a further cool-down, so the circuit cannot stick half-open.
    /// </summary>
    public CircuitDecision TryAcquire(DateTimeOffset now)
    {
        lock (_gate)
        {
            switch (_state)
            {
                case CircuitState.Closed:
                    return CircuitDecision.Go;
                case CircuitState.Open when now < _openedAt + _options.CoolDown:
                    return CircuitDecision.WaitUntil(_openedAt + _options.CoolDown);
                case CircuitState.Open:
                    _state = CircuitState.HalfOpen;
                    _probeSentAt = now;
                    return CircuitDecision.Probe;
                default:
                    if (_probeSentAt is { } sent && now < sent + _options.CoolDown)
                    {
                        return CircuitDecision.WaitUntil(sent + _options.CoolDown);
                    }

                    _probeSentAt = now;
                    return CircuitDecision.Probe;
            }
        }
    }

    /// <summary>
    /// Gives back a probe that was not sent (the endpoint's rate limit deferred it): the next delivery may probe at
    /// once instead of after a further cool-down.
    /// </summary>
    public void ReturnProbe()
    {
        lock (_gate)
        {
            if (_state == CircuitState.HalfOpen)
            {
                _probeSentAt = null;
            }
        }
    }

    /// <summary>
    /// Remembers a delivery this breaker turned away (<paramref name="deliveryId"/>, rescheduled at
    /// <paramref name="dueEntry"/>), so the success that closes the circuit releases it. Holding the same delivery again
    /// replaces its entry. False when the circuit has closed meanwhile: nothing is remembered, release it now.
    /// </summary>
    public bool Hold(string deliveryId, string dueEntry)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        ArgumentNullException.ThrowIfNull(dueEntry);
        lock (_gate)
        {
            if (_state == CircuitState.Closed)
            {
                return false;
            }

            _held[deliveryId] = dueEntry;
            return true;
        }
    }

    public EndpointHealth RecordSuccess(DateTimeOffset now)
    {
        lock (_gate)
        {
            _state = CircuitState.Closed;
            _consecutiveFailures = 0;
            _failingSince = null;
            _probeSentAt = null;
            if (_held.Count == 0)
            {
                return Health(now);
            }

            var released = _held.Values.ToList();
            _held = new Dictionary<string, string>(StringComparer.Ordinal);
            return Health(now) with { Released = released };
        }
    }

    public EndpointHealth RecordFailure(DateTimeOffset now)
    {
        lock (_gate)
        {
            _consecutiveFailures++;
            _failingSince ??= now;

            // A failed probe re-opens at once; a closed circuit opens at the threshold.
            if (_state == CircuitState.HalfOpen || _consecutiveFailures >= _options.FailureThreshold)
            {
                _state = CircuitState.Open;
                _openedAt = now;
                _probeSentAt = null;
            }

            return Health(now);
        }
    }

    private EndpointHealth Health(DateTimeOffset now) =>
        new(_state, _consecutiveFailures, _failingSince);
}
