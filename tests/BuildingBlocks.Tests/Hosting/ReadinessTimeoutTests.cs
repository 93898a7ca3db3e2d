using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serverless.BuildingBlocks.Hosting;

namespace BuildingBlocks.Tests.Hosting;

public sealed class ReadinessTimeoutTests
{
    [Fact]
    public async Task A_readiness_check_that_never_answers_and_ignores_cancellation_is_unhealthy_once_its_time_is_up()
    {
        var hanging = new HangingCheck();
        await using var services = Services(hanging, TimeSpan.FromMilliseconds(200));

        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"), TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal("no answer within 0.2 s", report.Entries["hangs"].Description);
        Assert.Equal(HealthStatus.Healthy, report.Entries["answers"].Status);
        Assert.True(hanging.Started.Task.IsCompleted);
        hanging.Release.SetResult();
    }

    [Fact]
    public async Task Checks_that_answer_in_time_report_what_they_found_and_liveness_checks_are_not_bounded()
    {
        await using var services = Services(new HangingCheck(), TimeSpan.FromSeconds(30));
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value;

        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "answers", TestContext.Current.CancellationToken);

        Assert.Equal("fine", report.Entries["answers"].Description);
        Assert.IsType<BoundedReadinessCheck>(options.Registrations.Single(r => r.Name == "answers").Factory(services));
        Assert.IsType<HangingCheck>(options.Registrations.Single(r => r.Name == "liveness").Factory(services));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void A_readiness_timeout_that_is_not_positive_is_refused_with_its_setting(string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Serverless:Http:ReadinessTimeout"] = value }).Build();

        var error = Assert.Throws<ServerlessConfigurationException>(() => ServerlessConfiguration.ReadOptions(configuration));

        Assert.Equal("Serverless:Http:ReadinessTimeout", error.Setting);
    }

    private static ServiceProvider Services(HangingCheck hanging, TimeSpan timeout)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks()
            .AddCheck("hangs", hanging, tags: ["ready"])
            .AddCheck("answers", () => HealthCheckResult.Healthy("fine"), tags: ["ready"])
            .AddCheck("liveness", hanging);
        services.PostConfigure<HealthCheckServiceOptions>(o => BoundedReadinessCheck.Bound(o, timeout));
        return services.BuildServiceProvider();
    }

    /// <summary>A check stuck in work that cannot be cancelled (as a SQLite call or a hung connection can be).</summary>
    private sealed class HangingCheck : IHealthCheck
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Release.Task.ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
    }
}
