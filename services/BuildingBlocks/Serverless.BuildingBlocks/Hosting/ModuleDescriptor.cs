using Microsoft.Extensions.DependencyInjection;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>A capability plugged into a host: shown on the landing page with the endpoints under its prefix.</summary>
public sealed record ModuleDescriptor(string Name, string Description, string RoutePrefix);

public static class ModuleRegistration
{
    /// <summary>Declares a module; its endpoints are those whose route starts with <paramref name="routePrefix"/>.</summary>
    public static IServiceCollection AddModule(this IServiceCollection services, string name, string description, string routePrefix) =>
        services.AddSingleton(new ModuleDescriptor(name, description, routePrefix));
}
