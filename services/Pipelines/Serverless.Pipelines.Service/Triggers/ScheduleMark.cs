namespace Serverless.Pipelines.Service.Triggers;

/// <summary>The last occurrence of a pipeline's schedule trigger that started a run (<c>pipelines||schedule||{name}||{index}</c>).</summary>
public sealed record ScheduleMark(string Cron, string TimeZone, DateTimeOffset LastOccurrence);
