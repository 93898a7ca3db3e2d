namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// One attempt to deliver one event to one endpoint, as the attempts log shows it: when, how long, the status
/// (or why there was none), and the first 4 KiB of what the receiver answered.
/// </summary>
public sealed record DeliveryAttempt(
    string DeliveryId,
    string EndpointId,
    string EventId,
    int Attempt,
    DateTimeOffset StartedAt,
    double DurationMs,
    int? StatusCode,
    string? Error,
    string ResponseBody);
