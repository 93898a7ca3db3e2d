using Serverless.Pipelines.Expressions;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// One attempt handed to an executor: where it belongs (the run and its pipeline), what its templates see, and where its
/// log goes. Not the run's record: a version of it held for as long as a step runs would outlive every gen0 collection.
/// </summary>
public sealed record StepWork(string RunId, string Pipeline, string StepId, int Attempt, ExpressionContext Context, StepLog Log);
