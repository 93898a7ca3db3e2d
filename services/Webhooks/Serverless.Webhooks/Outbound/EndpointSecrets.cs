namespace Serverless.Webhooks.Outbound;

/// <summary>
/// The secrets an endpoint's deliveries are signed with. After a rotation the previous secret stays valid until
/// <see cref="PreviousValidUntil"/>, so receivers that have not yet switched keep verifying deliveries.
/// </summary>
public sealed record EndpointSecrets(WebhookSecret Current, WebhookSecret? Previous = null, DateTimeOffset? PreviousValidUntil = null)
{
    /// <summary>The secrets to sign with at <paramref name="now"/>: the current one first, then the previous one while its grace period lasts.</summary>
    public IReadOnlyList<WebhookSecret> ActiveAt(DateTimeOffset now) =>
        Previous is not null && PreviousValidUntil is { } until && now < until
            ? [Current, Previous]
            : [Current];

    /// <summary>Replaces the current secret; the old one keeps signing for <paramref name="gracePeriod"/>.</summary>
    public EndpointSecrets Rotate(WebhookSecret next, DateTimeOffset now, TimeSpan gracePeriod)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod, TimeSpan.Zero);
        return new EndpointSecrets(next, Current, now + gracePeriod);
    }
}
