namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>The payload of the platform events about runs (<c>pipeline.run.*</c>, <c>pipeline.step.*</c>).</summary>
public sealed record RunEventData(string RunId, string Pipeline, string? StepId, string RunStatus, string? StepStatus, string? Detail);
