using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;

namespace BuildingBlocks.Tests.PubSub;

public class PubSubRegistrationTests
{
    [Fact]
    public void Backoff_grows_by_the_multiplier_and_stops_at_the_cap()
    {
        var options = new PubSubOptions { InitialBackoff = TimeSpan.FromMilliseconds(200), BackoffMultiplier = 2, MaxBackoff = TimeSpan.FromSeconds(1) };
        var schedule = Enumerable.Range(1, 5).Select(attempt => EventDispatcher.Backoff(options, attempt).TotalMilliseconds);
        Assert.Equal([200d, 400d, 800d, 1000d, 1000d], schedule);
    }

    [Fact]
    public void The_distributed_profile_without_a_broker_is_a_configuration_error()
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() =>
            new ServiceCollection().AddPubSub(new ServerlessOptions { Profile = ServerlessProfile.Distributed }, null));
        Assert.Equal("ConnectionStrings:RabbitMq", error.Setting);
        Assert.Throws<ServerlessConfigurationException>(() =>
            new ServiceCollection().AddPubSub(new ServerlessOptions { Profile = ServerlessProfile.Distributed }, "http://not-amqp/"));
    }

    [Fact]
    public void Invalid_retry_settings_are_configuration_errors()
    {
        var options = new ServerlessOptions { PubSub = { MaxRetries = -1 } };
        Assert.Equal("Serverless:PubSub:MaxRetries", Assert.Throws<ServerlessConfigurationException>(() => new ServiceCollection().AddPubSub(options, null)).Setting);
    }

    [Fact]
    public void A_subscription_registered_twice_is_refused_when_the_registry_is_built()
    {
        var services = new ServiceCollection()
            .AddSubscription<RecordingHandler>("orders", "audit")
            .AddSubscription<RecordingHandler>("invoices", "audit")
            .AddPubSub(new ServerlessOptions(), null);
        using var provider = services.BuildServiceProvider();
        Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<TopicRegistry>());
    }
}
