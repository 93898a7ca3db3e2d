using Azure.Messaging;
using Microsoft.Extensions.Configuration;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;

namespace Serverless.Integration.Worker;

/// <summary>Records each delivery in state (so the test can see attempts across processes) and may hang.</summary>
public sealed class WorkItemHandler(IStateStore state, IConfiguration configuration) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        var pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await state.SaveAsync($"worker||started||{cloudEvent.Id}||{pid}", System.Text.Encoding.UTF8.GetBytes(context.Redelivered ? "redelivered" : "first"), cancellationToken: cancellationToken);
        if (string.Equals(configuration["Worker:Hang"], "true", StringComparison.OrdinalIgnoreCase))
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        await state.SaveAsync($"worker||done||{cloudEvent.Id}||{pid}", System.Text.Encoding.UTF8.GetBytes(pid), cancellationToken: cancellationToken);
    }
}
