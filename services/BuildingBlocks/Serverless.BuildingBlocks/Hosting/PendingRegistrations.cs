using Microsoft.AspNetCore.Routing;

namespace Serverless.BuildingBlocks.Hosting;

// TEMPORARY until the pub/sub and timer branches merge; deleted then.
internal static class PendingRegistrations
{
    internal static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder routes) => routes;
}
