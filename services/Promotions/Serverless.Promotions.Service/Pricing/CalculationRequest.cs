using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Validation;

namespace Serverless.Promotions.Service.Pricing;

/// <summary>The body of calculate (and the basket of a commit): what is bought, where, by whom, with which coupons.</summary>
public sealed record CalculationRequest
{
    public BasketInput? Basket { get; init; }

    /// <summary>online (default), pos or app.</summary>
    public string? Channel { get; init; }

    public string? Store { get; init; }

    public string? Region { get; init; }

    public CustomerInput? Customer { get; init; }

    public IReadOnlyList<string>? Coupons { get; init; }

    /// <summary>Maps to the engine's basket and context, or lists every problem with its path (nothing is priced then).</summary>
    public (Basket? Basket, PricingContext? Context, IReadOnlyList<ValidationProblem> Problems) ToPricing(DateTimeOffset at)
    {
        List<ValidationProblem>? problems = null;
        var channel = SalesChannel.Online;
        if (Channel is { } name && !Enum.TryParse(name, ignoreCase: true, out channel))
        {
            (problems ??= []).Add(new("channel", $"unknown channel '{name}' (online, pos or app)"));
        }

        if (Basket is null)
        {
            (problems ??= []).Add(new("basket", "is required"));
            return (null, null, problems);
        }

        var lines = Basket.Lines ?? [];
        var basketLines = new BasketLine[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line is null)
            {
                (problems ??= []).Add(new($"basket.lines[{i}]", "must be an object"));
                continue;
            }

            basketLines[i] = new BasketLine(line.LineId ?? (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), line.Sku!, line.Quantity, line.UnitPrice)
            {
                Currency = line.Currency,
                Categories = line.Categories ?? (line.Category is { } category ? [category] : []),
                Brand = line.Brand,
                Tags = line.Tags ?? [],
            };
        }

        var basket = new Basket(Basket.Currency!, basketLines, Basket.ShippingAmount);
        if (problems is null)
        {
            var found = BasketValidator.Validate(basket);
            if (found.Count > 0)
            {
                return (null, null, [.. found.Select(p => p with { Path = "basket." + p.Path })]);
            }
        }
        else
        {
            problems.AddRange(BasketValidator.Validate(basket with { Lines = [.. basketLines.Where(l => l is not null)] }).Select(p => p with { Path = "basket." + p.Path }));
            return (null, null, problems);
        }

        var context = new PricingContext(at)
        {
            Channel = channel,
            StoreId = Store,
            Region = Region,
            Segments = Customer?.Segments ?? [],
            MemberTier = Customer?.MemberTier,
            FirstOrder = Customer?.FirstOrder ?? false,
            Coupons = Coupons ?? [],
        };
        return (basket, context, []);
    }
}

public sealed record BasketInput(string? Currency, IReadOnlyList<LineInput?>? Lines, decimal ShippingAmount = 0m);

/// <summary>A basket line. <c>category</c> is shorthand for a one-element <c>categories</c>; <c>lineId</c> defaults to the 1-based position.</summary>
public sealed record LineInput(string? Sku, decimal UnitPrice, int Quantity)
{
    public string? LineId { get; init; }

    public string? Category { get; init; }

    public IReadOnlyList<string>? Categories { get; init; }

    public string? Brand { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? Currency { get; init; }
}

/// <summary>The customer: <c>id</c> is what per-customer limits count by.</summary>
public sealed record CustomerInput(string? Id, IReadOnlyList<string>? Segments = null, string? MemberTier = null, bool FirstOrder = false);
