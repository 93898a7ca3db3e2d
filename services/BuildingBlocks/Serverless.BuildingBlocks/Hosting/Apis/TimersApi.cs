using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.BuildingBlocks.Timers;

namespace Serverless.BuildingBlocks.Hosting.Apis;

public sealed record TimerView(string Name, string Schedule, string TimeZone, DateTimeOffset NextOccurrence);

/// <summary>/api/timers: the timers this process registers and when each fires next.</summary>
public static class TimersApi
{
    public static RouteHandlerBuilder MapTimersApi(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/timers", (ITimerEngine engine, TimeProvider time) => TypedResults.Ok(new
            {
                engine = engine.Engine,
                timers = engine.Timers
                    .Select(t => new TimerView(t.Name, t.Schedule, t.TimeZone, CronSchedule.Parse(t.Name, t.Schedule, t.TimeZone).GetNextOccurrence(time.GetUtcNow())))
                    .ToArray(),
            }))
            .WithTags("Platform").RequireAuthorization(Roles.Viewer).WithSummary("Timers, their schedules and next occurrences");
}
