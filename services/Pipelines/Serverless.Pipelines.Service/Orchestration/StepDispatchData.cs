namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>The payload of <c>pipeline.step.dispatch</c>: run attempt <paramref name="Attempt"/> of a step.</summary>
public sealed record StepDispatchData(string RunId, string Pipeline, string StepId, int Attempt);
