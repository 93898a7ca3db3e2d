using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>
/// Runs first among the hosted services: in the distributed profile it connects to RabbitMQ once, so a wrong
/// or unreachable broker stops start-up with a message naming the setting instead of retrying forever.
/// (PostgreSQL is checked when the state store opens.)
/// </summary>
internal sealed class ProfileConnectionCheck(ServerlessOptions options, Uri? rabbitMq) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Profile != ServerlessProfile.Distributed || rabbitMq is null)
        {
            return;
        }

        var factory = new ConnectionFactory { Uri = rabbitMq, RequestedConnectionTimeout = TimeSpan.FromSeconds(10), AutomaticRecoveryEnabled = false };
        try
        {
            await using var connection = await factory.CreateConnectionAsync("serverless-startup-check", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new ServerlessConfigurationException("ConnectionStrings:RabbitMq", $"RabbitMQ at {rabbitMq.Host}:{rabbitMq.Port} is unreachable or refused the connection ({ex.GetType().Name}: {ex.Message}).", ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
