using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Serverless.BuildingBlocks.Hosting;

public static class AppDirectorySettings
{
    /// <summary>
    /// Reads the appsettings.json shipped next to the binary as the lowest-priority source, so a host started
    /// from any working directory (e.g. the repository root, where ./.data should live) keeps its defaults;
    /// appsettings in the content root, environment variables and the command line still override it.
    /// </summary>
    public static TBuilder AddAppDirectorySettings<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = (IConfigurationBuilder)builder.Configuration;
        configuration.Sources.Insert(0, new JsonConfigurationSource
        {
            Path = "appsettings.json",
            Optional = true,
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
        });
        return builder;
    }
}
