using Serverless.BuildingBlocks.Hosting;

namespace BuildingBlocks.Tests.Timers;

/// <summary>The contract on the Quartz engine clustered on PostgreSQL, in a schema of its own.</summary>
public sealed class DistributedTimerEngineTests : TimerEngineContract
{
    private readonly PostgresTimerSchema _schema = new();

    protected override ServerlessProfile Profile => ServerlessProfile.Distributed;

    protected override string ExpectedEngine => "quartz";

    protected override string PostgresSchema => _schema.Name;

    protected override string? PostgresConnectionString => _schema.ConnectionString;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _schema.DisposeAsync();
    }
}
