using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.BuildingBlocks.Hosting;

// TEMPORARY until the pub/sub and timer branches merge; deleted then.
internal static class PendingRegistrations
{
    internal static IServiceCollection AddPubSub(this IServiceCollection services, ServerlessOptions options, string? rabbitMqUri) => services;

    internal static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder routes) => routes;
}
