namespace Serverless.BuildingBlocks.PubSub;

/// <summary>What /readyz asks pub/sub: is the bus started and connected to its transport.</summary>
public interface IPubSubHealth
{
    Task<bool> IsReadyAsync(CancellationToken cancellationToken = default);
}
