using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class EndpointCircuitBreakerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly CircuitBreakerOptions Options = new() { FailureThreshold = 3, CoolDown = TimeSpan.FromSeconds(30) };

    [Fact]
    public void Opens_after_the_threshold_of_consecutive_failures_and_blocks_until_cool_down()
    {
        var breaker = new EndpointCircuitBreaker(Options);
        Assert.Equal(CircuitState.Closed, breaker.RecordFailure(T0).State);
        Assert.Equal(CircuitState.Closed, breaker.RecordFailure(T0).State);
        Assert.True(breaker.TryAcquire(T0).Allowed);
        Assert.Equal(CircuitState.Open, breaker.RecordFailure(T0.AddSeconds(1)).State);

        var blocked = breaker.TryAcquire(T0.AddSeconds(10));
        Assert.False(blocked.Allowed);
        Assert.Equal(T0.AddSeconds(31), blocked.NotBefore);
    }

    [Fact]
    public void A_success_resets_the_consecutive_count()
    {
        var breaker = new EndpointCircuitBreaker(Options);
        breaker.RecordFailure(T0);
        breaker.RecordFailure(T0);
        breaker.RecordSuccess(T0);
        breaker.RecordFailure(T0);
        var health = breaker.RecordFailure(T0);
        Assert.Equal(2, health.ConsecutiveFailures);
        Assert.Equal(CircuitState.Closed, health.State);
    }

    [Fact]
    public void A_probe_given_back_unsent_lets_the_next_delivery_probe_at_once()
    {
        var breaker = Opened();
        var probe = breaker.TryAcquire(T0.AddSeconds(40));
        Assert.True(probe.IsProbe);
        Assert.False(breaker.TryAcquire(T0.AddSeconds(41)).Allowed);

        // The rate limit deferred it: without giving it back the next probe would wait a further cool-down.
        breaker.ReturnProbe();
        Assert.True(breaker.TryAcquire(T0.AddSeconds(41)).IsProbe);
        Assert.False(breaker.TryAcquire(T0.AddSeconds(42)).Allowed);
    }

    [Fact]
    public void After_cool_down_lets_exactly_one_probe_through_and_a_success_closes_it()
    {
        var breaker = Opened();
        var probe = breaker.TryAcquire(T0.AddSeconds(30));
        Assert.True(probe.Allowed);
        Assert.True(probe.IsProbe);
        Assert.False(breaker.TryAcquire(T0.AddSeconds(31)).Allowed);

        var health = breaker.RecordSuccess(T0.AddSeconds(32));
        Assert.Equal(CircuitState.Closed, health.State);
        Assert.Null(health.FailingSince);
        var next = breaker.TryAcquire(T0.AddSeconds(33));
        Assert.True(next.Allowed);
        Assert.False(next.IsProbe);
    }

    [Fact]
    public void A_failed_probe_opens_the_circuit_again_for_a_full_cool_down()
    {
        var breaker = Opened();
        Assert.True(breaker.TryAcquire(T0.AddSeconds(30)).IsProbe);
        Assert.Equal(CircuitState.Open, breaker.RecordFailure(T0.AddSeconds(31)).State);
        Assert.Equal(T0.AddSeconds(61), breaker.TryAcquire(T0.AddSeconds(40)).NotBefore);
        Assert.True(breaker.TryAcquire(T0.AddSeconds(61)).IsProbe);
    }

    [Fact]
    public void A_probe_whose_result_never_arrives_is_replaced_after_another_cool_down()
    {
        var breaker = Opened();
        Assert.True(breaker.TryAcquire(T0.AddSeconds(30)).IsProbe);
        Assert.Equal(CircuitState.HalfOpen, breaker.StateAt(T0.AddSeconds(45)));
        Assert.False(breaker.TryAcquire(T0.AddSeconds(59)).Allowed);
        Assert.True(breaker.TryAcquire(T0.AddSeconds(60)).IsProbe);
    }

    [Fact]
    public void The_success_of_the_probe_releases_every_delivery_held_while_open_or_behind_it()
    {
        var breaker = Opened();
        Assert.True(breaker.Hold("d1", "due-at-cool-down-end/d1"));
        Assert.True(breaker.TryAcquire(T0.AddSeconds(30)).IsProbe);
        var held = breaker.TryAcquire(T0.AddSeconds(30));
        Assert.Equal(T0.AddSeconds(60), held.NotBefore);
        Assert.True(breaker.Hold("d2", "due-after-probe/d2"));
        Assert.True(breaker.Hold("d1", "due-after-probe/d1")); // held again: its newer entry replaces the old one

        var health = breaker.RecordSuccess(T0.AddSeconds(31));

        Assert.Equal(CircuitState.Closed, health.State);
        Assert.Equal(["due-after-probe/d1", "due-after-probe/d2"], health.Released.Order(StringComparer.Ordinal));
        Assert.Empty(breaker.RecordSuccess(T0.AddSeconds(32)).Released);
    }

    [Fact]
    public void A_failed_probe_keeps_holding_and_a_closed_circuit_holds_nothing()
    {
        var breaker = Opened();
        Assert.True(breaker.TryAcquire(T0.AddSeconds(30)).IsProbe);
        Assert.True(breaker.Hold("d1", "due/d1"));
        Assert.Empty(breaker.RecordFailure(T0.AddSeconds(31)).Released);
        Assert.True(breaker.TryAcquire(T0.AddSeconds(61)).IsProbe);
        Assert.Equal(["due/d1"], breaker.RecordSuccess(T0.AddSeconds(62)).Released);

        // Closed meanwhile (the success came before this delivery's hold was recorded): the caller releases it itself.
        Assert.False(breaker.Hold("d2", "due/d2"));
        Assert.Empty(breaker.RecordSuccess(T0.AddSeconds(63)).Released);
    }

    [Fact]
    public void Failing_since_is_the_first_failure_after_the_last_success()
    {
        var breaker = new EndpointCircuitBreaker(Options);
        breaker.RecordFailure(T0);
        Assert.Equal(T0, breaker.RecordFailure(T0.AddDays(3)).FailingSince);
        Assert.Null(breaker.RecordSuccess(T0.AddDays(4)).FailingSince);
        Assert.Equal(T0.AddDays(6), breaker.RecordFailure(T0.AddDays(6)).FailingSince);
    }

    private static EndpointCircuitBreaker Opened()
    {
        var breaker = new EndpointCircuitBreaker(Options);
        for (var i = 0; i < 3; i++)
        {
            breaker.RecordFailure(T0);
        }

        Assert.Equal(CircuitState.Open, breaker.StateAt(T0));
        return breaker;
    }
}
