namespace Serverless.Webhooks.Service.Delivery;

public enum DeliveryStatus
{
    Pending,
    Delivered,
    Failed,
}

/// <summary>
/// One event on its way to one endpoint (state key <c>webhooks||delivery||{id}</c>). The id is derived from the
/// event id and the endpoint id, so a redelivered event never makes a second delivery.
/// </summary>
public sealed record DeliveryRecord(
    string Id,
    string EndpointId,
    string EventId,
    string EventType,
    byte[] CloudEventJson,
    DeliveryStatus Status,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>What the API shows of a delivery (the event itself is in the attempts' receiver logs).</summary>
public sealed record DeliveryView(string Id, string EndpointId, string EventId, string EventType, string Status, int Attempts, DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static DeliveryView From(DeliveryRecord d) => new(d.Id, d.EndpointId, d.EventId, d.EventType, d.Status.ToString().ToLowerInvariant(), d.Attempts, d.NextAttemptAt, d.LastError, d.CreatedAt, d.UpdatedAt);
}
