using System.Net.Http.Json;
using System.Text.Json;
using Serverless.BuildingBlocks.Hosting;

namespace Integration.Tests;

/// <summary>Wrong or unreachable configuration stops start-up with a message naming the setting.</summary>
public sealed class StartupConfigurationTests
{
    private static ServerlessConfigurationException StartFails(IDictionary<string, string?> settings)
    {
        using var host = new LocalHost(settings: settings);
        var error = Assert.ThrowsAny<Exception>(() => host.Server);
        while (error is not ServerlessConfigurationException && error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return Assert.IsType<ServerlessConfigurationException>(error);
    }

    [Fact]
    public void A_promotions_coupon_secret_that_is_not_base64_of_32_bytes_names_the_setting_and_not_the_value()
    {
        foreach (var bad in new[] { "not base64!", Convert.ToBase64String(new byte[31]) })
        {
            var error = StartFails(new Dictionary<string, string?> { ["Promotions:CouponSecret"] = bad });
            Assert.Equal("Promotions:CouponSecret", error.Setting);
            Assert.DoesNotContain(bad, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Promotions:Pricing:Rounding", "Sideways")]
    [InlineData("Promotions:Pricing:RoundingByCurrency:XYZ", "HalfUp")]
    [InlineData("Promotions:Pricing:MaxOrderDiscount", "-1")]
    [InlineData("Promotions:Pricing:MaxOrderDiscountPercent", "150")]
    public void Bad_promotions_pricing_settings_name_the_setting(string setting, string value)
    {
        var error = StartFails(new Dictionary<string, string?> { [setting] = value });
        Assert.Equal(setting, error.Setting);
    }

    [Theory]
    [InlineData("pipeline.step.result")]
    [InlineData("pipeline.*")]
    [InlineData("scm.push")]
    [InlineData("Not A Topic")]
    public void A_publish_allow_list_naming_a_platform_topic_or_no_topic_names_the_setting(string entry)
    {
        var error = StartFails(new Dictionary<string, string?> { ["Pipelines:Publish:AllowedTopics:0"] = entry });
        Assert.Equal("Pipelines:Publish:AllowedTopics", error.Setting);
    }

    [Theory]
    [InlineData("Webhooks:Outbound:EventTypes:not.delivered:0", "not.delivered.thing", "Webhooks:Outbound:EventTypes:not.delivered")]
    [InlineData("Webhooks:Outbound:EventTypes:scm.push:0", "bad type", "Webhooks:Outbound:EventTypes:scm.push")]
    public void Event_types_for_a_topic_that_is_not_delivered_or_that_are_not_types_name_the_setting(string setting, string value, string named)
    {
        var error = StartFails(new Dictionary<string, string?> { [setting] = value });
        Assert.Equal(named, error.Setting);
    }

    [Fact]
    public void An_unknown_profile_names_the_setting()
    {
        var error = StartFails(new Dictionary<string, string?> { ["Serverless:Profile"] = "cloudy" });
        Assert.Equal("Serverless:Profile", error.Setting);
    }

    [Fact]
    public void The_distributed_profile_without_connection_strings_names_the_missing_one()
    {
        var error = StartFails(new Dictionary<string, string?> { ["Serverless:Profile"] = "distributed" });
        Assert.Equal("ConnectionStrings:Postgres", error.Setting);
    }

    [Fact]
    public void A_malformed_rabbitmq_uri_names_the_setting()
    {
        var error = StartFails(new Dictionary<string, string?>
        {
            ["Serverless:Profile"] = "distributed",
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Username=x",
            ["ConnectionStrings:RabbitMq"] = "http://not-amqp",
        });
        Assert.Equal("ConnectionStrings:RabbitMq", error.Setting);
    }

    [Fact]
    public void An_unreachable_postgresql_names_the_setting()
    {
        var error = StartFails(new Dictionary<string, string?>
        {
            ["Serverless:Profile"] = "distributed",
            ["ConnectionStrings:Postgres"] = $"Host=127.0.0.1;Port={UnusedPort()};Username=postgres;Timeout=3",
            ["ConnectionStrings:RabbitMq"] = $"amqp://guest:guest@127.0.0.1:{UnusedPort()}/",
        });
        Assert.Equal("ConnectionStrings:Postgres", error.Setting);
    }

    [Fact]
    public void An_unreachable_rabbitmq_names_the_setting()
    {
        var error = StartFails(new Dictionary<string, string?>
        {
            ["Serverless:Profile"] = "distributed",
            ["Serverless:PostgresSchema"] = "startup_" + Guid.NewGuid().ToString("N")[..8],
            ["ConnectionStrings:Postgres"] = Serverless.Testing.TestServers.Postgres,
            ["ConnectionStrings:RabbitMq"] = $"amqp://guest:guest@127.0.0.1:{UnusedPort()}/",
        });
        Assert.Equal("ConnectionStrings:RabbitMq", error.Setting);
    }

    [Fact]
    public async Task The_main_job_keeps_its_keys_and_state_across_a_restart()
    {
        var directory = Directory.CreateTempSubdirectory("restart-").FullName;
        string adminKey;
        await using (var first = new LocalHost(directory))
        {
            adminKey = first.AdminKey;
            var client = first.CreateClient(adminKey);
            (await client.PutAsync("/api/state/kept", new StringContent("still here"))).EnsureSuccessStatusCode();
        }

        await using var second = new LocalHost(directory);
        var again = second.CreateClient(adminKey);
        Assert.Equal(adminKey, second.AdminKey);
        Assert.Equal("still here", await again.GetStringAsync("/api/state/kept"));
        var keys = await again.GetFromJsonAsync<JsonElement>("/api/keys");
        Assert.Equal(1, keys.GetArrayLength());
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
