using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Functions.Apis;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Promotions.Functions;

/// <summary>Plugs the promotions capability into a host: <c>builder.AddPromotions()</c>, <c>app.MapPromotions()</c>.</summary>
public static class PromotionsModule
{
    public const string RoutePrefix = "/api/promotions";

    /// <summary>Every few seconds: activations, ends and settlements that have come due (one firing per occurrence across instances).</summary>
    public const string LifecycleTimer = "promotions-lifecycle";

    public static TBuilder AddPromotions<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddModule("Promotions", "Promotion catalog and lifecycle, generated coupon batches, calculate against an in-memory snapshot, budget ledger, reports, settlement, POS snapshot export.", RoutePrefix);

        // Every topic the capability publishes is declared: publishing to an undeclared one fails (an outbox row would be stuck).
        foreach (var topic in PromotionTopics.All)
        {
            services.AddTopic(topic, PromotionTopics.Descriptions[topic]);
        }

        var section = builder.Configuration.GetSection("Promotions");
        var options = new PromotionsOptions
        {
            SettlementGrace = section.GetValue<TimeSpan?>("SettlementGrace") ?? TimeSpan.FromDays(1),
            RefreshInterval = section.GetValue<TimeSpan?>("RefreshInterval") ?? TimeSpan.FromMilliseconds(250),
            Pricing = ReadPricing(section.GetSection("Pricing")),
        };
        if (options.SettlementGrace < TimeSpan.Zero)
        {
            throw new ServerlessConfigurationException("Promotions:SettlementGrace", "must not be negative.");
        }

        if (options.RefreshInterval <= TimeSpan.Zero || options.RefreshInterval > TimeSpan.FromSeconds(1))
        {
            throw new ServerlessConfigurationException("Promotions:RefreshInterval", "must be above zero and at most 1 second (instances must see a change within 1 s).");
        }

        services.AddSingleton(options);
        services.AddSingleton(options.Pricing);

        // Coupon batch keys derive from this secret: configured (base64, ≥ 32 bytes), or generated once and kept in the state store.
        var couponSecret = section.GetValue<string?>("CouponSecret");
        byte[]? configuredSecret = null;
        if (!string.IsNullOrWhiteSpace(couponSecret) && !CouponSecret.TryParse(couponSecret, out configuredSecret))
        {
            throw new ServerlessConfigurationException("Promotions:CouponSecret", $"must be base64 of at least {CouponSecret.MinBytes} bytes (e.g. from 'openssl rand -base64 32').");
        }

        services.AddSingleton(provider => new CouponSecret(provider.GetRequiredService<IStateStore>(), configuredSecret));
        services.AddSingleton<CouponBatches>();
        services.AddSingleton<ActivePromotions>();
        services.AddHostedService<ActivePromotionsRefresher>();
        services.AddHealthChecks().AddCheck<ActivePromotionsReadiness>("promotions", tags: ["ready"]);
        services.AddSingleton<PromotionCatalog>();
        services.AddSingleton<PromotionPricing>();
        services.AddSingleton<BudgetLedger>();

        // A shared subscription name: the instance that gets the event reloads at once; every other one sees the same
        // change through its version poll within RefreshInterval. A name per instance would leave a durable queue behind per restart.
        services.AddSubscription<PromotionChangedTrigger>(PromotionTopics.Changed, "promotions.refresh-active");
        services.AddTimer<PromotionLifecycleTimer>(LifecycleTimer, section.GetValue<string?>("LifecycleSchedule") ?? "*/2 * * * * *");
        return builder;
    }

    /// <summary>
    /// <c>Promotions:Pricing:Rounding</c> (HalfEven, the default, or HalfUp), <c>Promotions:Pricing:RoundingByCurrency:CHF</c>
    /// per currency, <c>Promotions:Pricing:MaxOrderDiscount</c> (an amount) and <c>MaxOrderDiscountPercent</c> (of the
    /// original subtotal): the most item and order promotions together take off one order.
    /// </summary>
    private static PricingOptions ReadPricing(IConfigurationSection section)
    {
        static RoundingMode Mode(string key, string? value) => Enum.TryParse<RoundingMode>(value, ignoreCase: true, out var mode) && Enum.IsDefined(mode)
            ? mode
            : throw new ServerlessConfigurationException(key, $"must be HalfEven or HalfUp (got '{value}').");

        var byCurrency = new Dictionary<string, RoundingMode>(StringComparer.Ordinal);
        foreach (var child in section.GetSection("RoundingByCurrency").GetChildren())
        {
            if (!CurrencyTable.TryGetMinorUnits(child.Key, out _))
            {
                throw new ServerlessConfigurationException($"Promotions:Pricing:RoundingByCurrency:{child.Key}", "is not a known ISO 4217 currency code.");
            }

            byCurrency[child.Key] = Mode($"Promotions:Pricing:RoundingByCurrency:{child.Key}", child.Value);
        }

        var maxAmount = section.GetValue<decimal?>("MaxOrderDiscount");
        var maxPercent = section.GetValue<decimal?>("MaxOrderDiscountPercent");
        if (maxAmount is <= 0)
        {
            throw new ServerlessConfigurationException("Promotions:Pricing:MaxOrderDiscount", "must be positive.");
        }

        if (maxPercent is <= 0 or > 100)
        {
            throw new ServerlessConfigurationException("Promotions:Pricing:MaxOrderDiscountPercent", "must be above 0 and at most 100.");
        }

        return new PricingOptions
        {
            Rounding = section["Rounding"] is { } rounding ? Mode("Promotions:Pricing:Rounding", rounding) : RoundingMode.HalfEven,
            RoundingByCurrency = byCurrency,
            MaxOrderDiscount = maxAmount,
            MaxOrderDiscountPercent = maxPercent,
        };
    }

    public static WebApplication MapPromotions(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapCalculateApi();
        app.MapCatalogApi();
        app.MapOrdersApi();
        app.MapCouponBatchesApi();
        return app;
    }
}
