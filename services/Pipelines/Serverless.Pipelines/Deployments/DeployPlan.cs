namespace Serverless.Pipelines.Deployments;

public sealed record DeployPlan(IReadOnlyList<DeployOperation> Operations);
