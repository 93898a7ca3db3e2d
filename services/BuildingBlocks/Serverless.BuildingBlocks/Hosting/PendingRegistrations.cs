using Microsoft.Extensions.DependencyInjection;

namespace Serverless.BuildingBlocks.Hosting;

// TEMPORARY until the timer branch merges; deleted then.
internal static class PendingRegistrations
{
    internal static IServiceCollection AddTimerEngine(this IServiceCollection services, ServerlessOptions options, string? postgresConnectionString) => services;
}
