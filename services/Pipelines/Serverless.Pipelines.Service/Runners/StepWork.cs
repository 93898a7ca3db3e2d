using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>One attempt handed to an executor: where it belongs, what its templates see, and where its log goes.</summary>
public sealed record StepWork(RunRecord Run, string StepId, int Attempt, ExpressionContext Context, StepLog Log);
