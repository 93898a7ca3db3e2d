using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

public class TimerRegistrationTests
{
    [Fact]
    public void An_invalid_cron_fails_at_registration_naming_the_timer_and_the_expression()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<ServerlessConfigurationException>(() => services.AddTimer<QuickTimer>("cleanup", "*/5 * * * *"));
        Assert.Contains("'cleanup'", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"*/5 * * * *\"", error.Message, StringComparison.Ordinal);
        Assert.Empty(services);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-leading-dash")]
    [InlineData("a/b")]
    public void A_name_that_cannot_be_an_identity_is_refused(string name)
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() => new ServiceCollection().AddTimer<QuickTimer>(name, "* * * * * *"));
        Assert.Contains("timer name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_registered_twice_is_refused()
    {
        var services = new ServiceCollection().AddTimer<QuickTimer>("daily", "0 0 0 * * *");
        var error = Assert.Throws<ServerlessConfigurationException>(() => services.AddTimer<SlowTimer>("Daily", "0 0 1 * * *"));
        Assert.Contains("already registered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_timer_is_described_and_its_function_resolved_per_scope()
    {
        var services = new ServiceCollection().AddSingleton(new FiringLog()).AddSingleton(new NodeName("n")).AddTimer<QuickTimer>("t", " 0  0 9 * * * ", "Europe/Berlin");
        using var provider = services.BuildServiceProvider();
        var descriptor = Assert.Single(provider.GetServices<TimerDescriptor>());
        Assert.Equal(new TimerDescriptor("t", "0 0 9 * * *", "Europe/Berlin", typeof(QuickTimer)), descriptor);
        using var one = provider.CreateScope();
        using var two = provider.CreateScope();
        Assert.NotSame(one.ServiceProvider.GetRequiredService<QuickTimer>(), two.ServiceProvider.GetRequiredService<QuickTimer>());
    }

    [Theory]
    [InlineData(ServerlessProfile.Embedded)]
    [InlineData(ServerlessProfile.Distributed)]
    public async Task With_timers_disabled_nothing_fires_and_the_engine_reports_ready(ServerlessProfile profile)
    {
        var log = new FiringLog();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(log).AddSingleton(new NodeName("n"));
        var options = new ServerlessOptions { Profile = profile, Timers = { Enabled = false } };
        builder.Services.AddTimerEngine(options, postgresConnectionString: null).AddTimer<QuickTimer>("t", "* * * * * *");
        Assert.DoesNotContain(builder.Services, s => s.ServiceType.Namespace?.StartsWith("Quartz", StringComparison.Ordinal) == true);
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        var engine = host.Services.GetRequiredService<ITimerEngine>();
        Assert.Equal("disabled", engine.Engine);
        Assert.True(await engine.IsReadyAsync(TestContext.Current.CancellationToken));
        Assert.Equal("t", Assert.Single(engine.Timers).Name);

        // An every-second timer would have fired by now.
        var quietUntil = DateTimeOffset.UtcNow.AddSeconds(1.5);
        while (DateTimeOffset.UtcNow < quietUntil)
        {
            Assert.Empty(log.All);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public void The_distributed_profile_needs_a_connection_string()
    {
        var options = new ServerlessOptions { Profile = ServerlessProfile.Distributed };
        var error = Assert.Throws<ServerlessConfigurationException>(() => new ServiceCollection().AddTimerEngine(options, postgresConnectionString: null));
        Assert.Equal("ConnectionStrings:Postgres", error.Setting);
    }

    [Fact]
    public void The_distributed_profile_refuses_a_schema_name_it_cannot_splice_into_sql()
    {
        var options = new ServerlessOptions { Profile = ServerlessProfile.Distributed, PostgresSchema = "x; DROP TABLE y" };
        var error = Assert.Throws<ServerlessConfigurationException>(() => new ServiceCollection().AddTimerEngine(options, "Host=127.0.0.1"));
        Assert.Equal("Serverless:PostgresSchema", error.Setting);
    }
}
