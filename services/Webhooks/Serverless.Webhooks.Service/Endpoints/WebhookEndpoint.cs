using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Service.Endpoints;

/// <summary>
/// A subscriber of outbound webhooks as stored (state key <c>webhooks||endpoint||{id}</c>). Secrets are kept
/// because every delivery is signed with them; they leave the service only once, when created or rotated.
/// </summary>
public sealed record WebhookEndpoint(
    string Id,
    string Url,
    IReadOnlyList<string> EventTypes,
    string? Description,
    int? RateLimitPerSecond,
    IReadOnlyDictionary<string, string> Headers,
    string Secret,
    string? PreviousSecret,
    DateTimeOffset? PreviousValidUntil,
    bool Enabled,
    string? DisabledReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public EndpointSecrets Secrets() => new(
        WebhookSecret.Parse(Secret),
        PreviousSecret is null ? null : WebhookSecret.Parse(PreviousSecret),
        PreviousValidUntil);

    public override string ToString() => $"WebhookEndpoint {{ Id = {Id}, Url = {Url}, Enabled = {Enabled} }}";
}

/// <summary>What the API shows of an endpoint: everything but its secrets.</summary>
public sealed record EndpointView(
    string Id, string Url, IReadOnlyList<string> EventTypes, string? Description, int? RateLimitPerSecond,
    IReadOnlyDictionary<string, string> Headers, bool Enabled, string? DisabledReason, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? PreviousSecretValidUntil)
{
    /// <summary>Credentials in the URL and the headers are not shown (<see cref="CredentialRedaction"/>): viewers read endpoints too.</summary>
    public static EndpointView From(WebhookEndpoint e) => new(
        e.Id, CredentialRedaction.Url(e.Url), e.EventTypes, e.Description, e.RateLimitPerSecond, CredentialRedaction.Headers(e.Headers), e.Enabled, e.DisabledReason, e.CreatedAt, e.UpdatedAt, e.PreviousValidUntil);
}

/// <summary>A newly created endpoint or a rotated secret: the only time the secret is shown.</summary>
public sealed record EndpointWithSecret(EndpointView Endpoint, string Secret);

/// <summary>Either the problems (nothing changed) or the result.</summary>
public sealed record EndpointChange<T>(IReadOnlyList<FieldProblem> Problems, T? Result)
{
    public bool Succeeded => Problems.Count == 0 && Result is not null;
}
