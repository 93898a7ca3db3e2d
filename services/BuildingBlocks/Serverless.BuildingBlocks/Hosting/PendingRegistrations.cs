using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.BuildingBlocks.Hosting;

// TEMPORARY until the pub/sub and timer branches merge; deleted then.
internal static class PendingRegistrations
{
    internal static IServiceCollection AddTimerEngine(this IServiceCollection services, ServerlessOptions options, string? postgresConnectionString) => services;

    internal static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder routes) => routes;
}
