namespace Serverless.BuildingBlocks.Timers;

/// <param name="Occurrence">The occurrence a timer waits for (it fires at once when this is already past).</param>
/// <param name="Last">The occurrence fired before it, if any.</param>
/// <param name="IsCatchUp">True when the occurrence passed while no engine was running: its firing is past-due whatever the delay.</param>
internal sealed record PendingOccurrence(DateTimeOffset Occurrence, DateTimeOffset? Last, bool IsCatchUp);
