using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>What starts a run. The <c>kind</c> property selects the record, in documents and in stored JSON.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(PushTrigger), "push")]
[JsonDerivedType(typeof(ScheduleTrigger), "schedule")]
[JsonDerivedType(typeof(ManualTrigger), "manual")]
public abstract record TriggerSpec;

/// <summary>
/// A push to <see cref="Repository"/> on a branch matching <see cref="Branches"/> that changes a file matching
/// <see cref="Paths"/>. Globs: <c>*</c> within a segment, <c>**</c> across segments, <c>!</c> excludes; the last
/// matching pattern wins (see <see cref="Triggers.PushTriggerMatcher"/>). Empty lists match everything.
/// </summary>
public sealed record PushTrigger : TriggerSpec
{
    public string? Repository { get; init; }

    public IReadOnlyList<string> Branches { get; init; } = [];

    public IReadOnlyList<string> Paths { get; init; } = [];
}

/// <summary>A 6-field cron expression with seconds ("sec min hour day month weekday"), read on the wall clock of <see cref="TimeZone"/> (IANA id).</summary>
public sealed record ScheduleTrigger : TriggerSpec
{
    public required string Cron { get; init; }

    public string TimeZone { get; init; } = "UTC";
}

/// <summary>Started by a person or an API call, who may set the pipeline's parameters.</summary>
public sealed record ManualTrigger : TriggerSpec;
