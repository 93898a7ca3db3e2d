using Microsoft.Extensions.Configuration;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>Reads and checks the settings that choose a profile, naming the setting in every error.</summary>
public static class ServerlessConfiguration
{
    public static ServerlessOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(ServerlessOptions.Section);
        var profile = section["Profile"];
        if (profile is not null && !Enum.TryParse<ServerlessProfile>(profile, ignoreCase: true, out _))
        {
            throw new ServerlessConfigurationException("Serverless:Profile", $"'{profile}' is not a profile; use 'embedded' or 'distributed'.");
        }

        ServerlessOptions options;
        try
        {
            options = section.Get<ServerlessOptions>() ?? new ServerlessOptions();
        }
        catch (InvalidOperationException ex)
        {
            throw new ServerlessConfigurationException("Serverless", ex.Message, ex);
        }

        if (options.PubSub.MaxRetries < 0)
        {
            throw new ServerlessConfigurationException("Serverless:PubSub:MaxRetries", "must be 0 or more.");
        }

        if (options.PubSub.Namespace is { } ns && (ns.Length is 0 or > 100 || !ns.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            throw new ServerlessConfigurationException("Serverless:PubSub:Namespace", "must be 1-100 letters, digits, '.', '_' or '-'.");
        }

        if (options.PubSub.ConcurrencyPerSubscription < 1)
        {
            throw new ServerlessConfigurationException("Serverless:PubSub:ConcurrencyPerSubscription", "must be 1 or more.");
        }

        if (options.Http.MaxRequestBodyBytes < 1024)
        {
            throw new ServerlessConfigurationException("Serverless:Http:MaxRequestBodyBytes", "must be at least 1024.");
        }

        if (options.Http.ReadinessTimeout <= TimeSpan.Zero)
        {
            throw new ServerlessConfigurationException("Serverless:Http:ReadinessTimeout", "must be a positive time span (such as 00:00:03).");
        }

        return options;
    }

    /// <summary>The PostgreSQL connection string, required by the distributed profile.</summary>
    public static string? Postgres(IConfiguration configuration, ServerlessOptions options)
    {
        var value = configuration.GetConnectionString("Postgres");
        if (options.Profile == ServerlessProfile.Distributed && string.IsNullOrWhiteSpace(value))
        {
            throw new ServerlessConfigurationException("ConnectionStrings:Postgres", "the distributed profile needs it (environment: ConnectionStrings__Postgres).");
        }

        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    /// <summary>The RabbitMQ amqp:// URI, required by the distributed profile.</summary>
    public static Uri? RabbitMq(IConfiguration configuration, ServerlessOptions options)
    {
        var value = configuration.GetConnectionString("RabbitMq");
        if (options.Profile != ServerlessProfile.Distributed)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ServerlessConfigurationException("ConnectionStrings:RabbitMq", "the distributed profile needs an amqp:// URI (environment: ConnectionStrings__RabbitMq).");
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
        {
            throw new ServerlessConfigurationException("ConnectionStrings:RabbitMq", "it must be an amqp:// or amqps:// URI such as amqp://user:password@host:5672/.");
        }

        return uri;
    }
}
