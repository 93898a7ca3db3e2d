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
        var grace = new ServerlessOptions { PubSub = { OutboxUnknownTopicGrace = TimeSpan.FromSeconds(-1) } };
        Assert.Equal("Serverless:PubSub:OutboxUnknownTopicGrace", Assert.Throws<ServerlessConfigurationException>(() => new ServiceCollection().AddPubSub(grace, null)).Setting);
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

    [Fact]
    public void A_topic_carries_the_event_types_its_declarations_name_or_else_its_own_name()
    {
        var services = new ServiceCollection()
            .AddTopic("runs.finished", "a run ended", ["runs.failed", "runs.succeeded"])
            .AddTopic("runs.finished", eventTypes: ["runs.failed", "runs.cancelled"])
            .AddTopic("orders.placed", "an order")
            .AddTopic("custom.events", eventTypes: ["*"])
            .AddSubscription<RecordingHandler>("runs.finished", "audit")
            .AddPubSub(new ServerlessOptions(), null);
        using var provider = services.BuildServiceProvider();
        var topics = provider.GetRequiredService<TopicRegistry>().Topics.ToDictionary(t => t.Name);

        Assert.Equal(["runs.failed", "runs.succeeded", "runs.cancelled"], topics["runs.finished"].CarriedEventTypes);
        Assert.Equal("a run ended", topics["runs.finished"].Description);
        Assert.Equal(["orders.placed"], topics["orders.placed"].CarriedEventTypes);
        Assert.Null(topics["orders.placed"].EventTypes);
        Assert.Equal(["*"], topics["custom.events"].CarriedEventTypes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("runs.*.failed")]
    [InlineData("runs failed")]
    [InlineData("runs.")]
    public void A_declared_event_type_must_be_a_type_a_family_or_any(string type)
    {
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddTopic("runs.finished", eventTypes: [type]));
        Assert.Throws<ArgumentException>(() => new TopicRegistry([new TopicDescriptor("runs.finished", null, [type])], []));
    }
}

