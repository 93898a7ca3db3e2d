using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting.Apis;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Security;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Telemetry;
using Serverless.BuildingBlocks.Timers;

namespace Serverless.BuildingBlocks.Hosting;

public static class BuildingBlocksExtensions
{
    /// <summary>
    /// Registers everything a module builds on, for the profile configured under <c>Serverless:Profile</c>:
    /// pub/sub, state + outbox, timers, API-key auth, problem+json, health, OpenAPI and telemetry.
    /// Wrong settings throw <see cref="ServerlessConfigurationException"/> naming the setting.
    /// </summary>
    public static TBuilder AddBuildingBlocks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var options = ServerlessConfiguration.ReadOptions(configuration);
        var postgres = ServerlessConfiguration.Postgres(configuration, options);
        var rabbitMq = ServerlessConfiguration.RabbitMq(configuration, options);
        var services = builder.Services;

        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddHostedService(_ => new ProfileConnectionCheck(options, rabbitMq));
        services.AddHostedService<GcSettingsReport>();
        services.AddStateStore(options, postgres);
        services.AddPubSub(options, rabbitMq?.ToString());
        services.AddTimerEngine(options, postgres);
        builder.AddServerlessTelemetry();

        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<AdminKeyBootstrap>();
        services.AddModule("Platform", "Building blocks: API keys, topics, events, state, dead letters and timers.", "/api/");
        if (builder is WebApplicationBuilder web)
        {
            web.AddHttpSurface(options);
        }

        return builder;
    }

    /// <summary>Maps /healthz, /readyz, OpenAPI, Swagger UI, the landing page and the platform APIs.</summary>
    public static WebApplication MapBuildingBlocks(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<ServerlessOptions>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimit>(options.Http.MaxRequestBodyBytes);
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync }).ExcludeFromDescription();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteHealthAsync }).ExcludeFromDescription();
        app.MapOpenApi();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "Serverless");
            o.RoutePrefix = "swagger";
        });
        app.MapGet("/", LandingPage.RenderAsync).ExcludeFromDescription();

        app.MapApiKeysApi();
        app.MapEventsApi();
        app.MapStateApi();
        app.MapDeadLettersApi();
        app.MapTimersApi();
        return app;
    }

    /// <summary>What only an HTTP host needs: API-key auth, problem+json, health checks, OpenAPI, body limits.</summary>
    private static void AddHttpSurface(this WebApplicationBuilder builder, ServerlessOptions options)
    {
        var services = builder.Services;
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Viewer, p => p.RequireAssertion(c => HasRole(c, ApiKeyRole.Viewer)))
            .AddPolicy(Roles.Pos, p => p.RequireAssertion(c => HasRole(c, ApiKeyRole.Pos)))
            .AddPolicy(Roles.Operator, p => p.RequireAssertion(c => HasRole(c, ApiKeyRole.Operator)))
            .AddPolicy(Roles.Admin, p => p.RequireAssertion(c => HasRole(c, ApiKeyRole.Admin)));

        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance ??= c.HttpContext.Request.Path;
            c.ProblemDetails.Extensions["traceId"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? c.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<ProblemMapping>();

        // Binding failures (a body member of the wrong JSON type, a query value that is not a number) reach ProblemMapping,
        // which names the field, instead of a bare 400.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddHealthChecks()
            .AddCheck<StateReadinessCheck>("state", tags: ["ready"])
            .AddCheck<PubSubReadinessCheck>("pubsub", tags: ["ready"]);
        services.PostConfigure<HealthCheckServiceOptions>(o => BoundedReadinessCheck.Bound(o, options.Http.ReadinessTimeout));
        services.AddOpenApi();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.Http.MaxRequestBodyBytes);
    }

    private static bool HasRole(AuthorizationHandlerContext context, ApiKeyRole minimum)
    {
        var claim = context.User.FindFirst(ApiKeyAuthenticationHandler.RoleClaim)?.Value;
        return int.TryParse(claim, System.Globalization.CultureInfo.InvariantCulture, out var role)
            && Enum.IsDefined((ApiKeyRole)role)
            && Roles.Includes((ApiKeyRole)role, minimum);
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            durationMs = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        }, StateStoreJsonExtensions.JsonOptions, context.RequestAborted);
    }
}
