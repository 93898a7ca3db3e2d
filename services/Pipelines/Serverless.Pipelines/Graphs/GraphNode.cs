using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Graphs;

public sealed record GraphNode(string Id, string Kind, StepStatus Status, bool IsFinally, int Attempts);
