using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;
using Serverless.Integration.Worker;
using Serverless.Pipelines.Functions;
using Serverless.Webhooks.Functions;
using Microsoft.Extensions.Configuration;

// A real process for the crash tests: it publishes, handles (optionally hanging mid-handling so the test can
// kill it), commits state + outbox and dies at once, or runs a timer every second (Worker:Timer) so several processes
// form a real Quartz cluster. Settings come from the command line (--Key=Value).
var builder = Host.CreateApplicationBuilder(args);
builder.AddBuildingBlocks();
if (string.Equals(builder.Configuration["Worker:Webhooks"], "true", StringComparison.OrdinalIgnoreCase))
{
    builder.AddWebhooks();
}

if (string.Equals(builder.Configuration["Worker:Pipelines"], "true", StringComparison.OrdinalIgnoreCase))
{
    builder.AddPipelines(); // with Pipelines:Orchestrator:Enabled=false: a step runner only
}

if (builder.Configuration["Worker:Timer"] is { } timerName)
{
    builder.Services.AddTimer<TickTimer>(timerName, "*/1 * * * * *");
}

var topic = builder.Configuration["Worker:Topic"] ?? "work.items";
builder.Services.AddTopic(topic);
builder.Services.AddSubscription<WorkItemHandler>(topic, builder.Configuration["Worker:Subscription"] ?? "worker.items");

using var host = builder.Build();
await host.StartAsync();
var mode = builder.Configuration["Worker:Mode"] ?? "consume";
var services = host.Services;

if (builder.Configuration["Worker:Publish"] is { } id)
{
    await services.GetRequiredService<IEventPublisher>().PublishAsync(topic, new CloudEvent("/worker", "work.item", new { n = 1 }) { Id = id });
}

if (builder.Configuration.GetValue<int?>("Worker:PublishCount") is { } count)
{
    var publisher = services.GetRequiredService<IEventPublisher>();
    for (var i = 0; i < count; i++)
    {
        await publisher.PublishAsync(topic, new CloudEvent("/worker", "test.outbound.happened", new { i }) { Id = $"evt-{i}" });
    }
}

if (mode == "commit-and-crash")
{
    var eventId = builder.Configuration["Worker:EventId"] ?? "outbox-1";
    await services.GetRequiredService<IStateStore>().TransactAsync(new StateTransaction()
        .Upsert("worker||order", "{\"state\":\"placed\"}"u8.ToArray())
        .Publish(topic, new CloudEvent("/worker", "work.item", new { order = 1 }) { Id = eventId }));
    Environment.FailFast("crash right after committing state + outbox (test)");
}

await Console.Out.WriteLineAsync("WORKER READY");
await host.WaitForShutdownAsync();
