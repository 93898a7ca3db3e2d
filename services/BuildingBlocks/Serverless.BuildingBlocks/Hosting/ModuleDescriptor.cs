using Microsoft.Extensions.DependencyInjection;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>
/// A capability plugged into a host: shown on the landing page with the endpoints under its prefixes. A route belongs
/// to the module with the longest prefix it starts with, so the platform's <c>/api/</c> keeps only the routes no
/// module claims.
/// </summary>
public sealed record ModuleDescriptor(string Name, string Description, IReadOnlyList<string> RoutePrefixes)
{
    public ModuleDescriptor(string name, string description, string routePrefix)
        : this(name, description, [routePrefix])
    {
    }

    /// <summary>The length of the longest of this module's prefixes that <paramref name="route"/> starts with; -1 when none does.</summary>
    public int MatchLength(string route)
    {
        ArgumentNullException.ThrowIfNull(route);
        var longest = -1;
        foreach (var prefix in RoutePrefixes)
        {
            if (prefix.Length > longest && route.StartsWith(prefix, StringComparison.Ordinal))
            {
                longest = prefix.Length;
            }
        }

        return longest;
    }
}

public static class ModuleRegistration
{
    /// <summary>Declares a module; its endpoints are those whose route starts with one of <paramref name="routePrefixes"/> (and no longer prefix of another module).</summary>
    public static IServiceCollection AddModule(this IServiceCollection services, string name, string description, params string[] routePrefixes) =>
        services.AddSingleton(new ModuleDescriptor(name, description, routePrefixes));
}
