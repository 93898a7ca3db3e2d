using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Validation;

namespace Serverless.Promotions.Service.Pricing;

/// <summary>The body of calculate (and the basket of a commit): what is bought, where, by whom, with which coupons.</summary>
public sealed record CalculationRequest
{
    public BasketInput? Basket { get; set; }

    /// <summary>online (default), pos or app.</summary>
    public string? Channel { get; set; }

    public string? Store { get; set; }

    public string? Region { get; set; }

    public CustomerInput? Customer { get; set; }

    public IReadOnlyList<string>? Coupons { get; set; }

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

/// <summary>
/// The request DTOs have settable properties (not positional records or init-only ones) on purpose: the generated
/// JSON reader then creates each object and sets its properties directly. For init-only or constructor properties it
/// collects every value into a boxed argument array first, which made reading a 30-line basket about as costly as pricing it.
/// </summary>
public sealed record BasketInput
{
    public string? Currency { get; set; }

    public IReadOnlyList<LineInput?>? Lines { get; set; }

    public decimal ShippingAmount { get; set; }
}

/// <summary>A basket line. <c>category</c> is shorthand for a one-element <c>categories</c>; <c>lineId</c> defaults to the 1-based position.</summary>
public sealed record LineInput
{
    public string? Sku { get; set; }

    public decimal UnitPrice { get; set; }

    public int Quantity { get; set; }

    public string? LineId { get; set; }

    public string? Category { get; set; }

    public IReadOnlyList<string>? Categories { get; set; }

    public string? Brand { get; set; }

    public IReadOnlyList<string>? Tags { get; set; }

    public string? Currency { get; set; }
}

/// <summary>The customer: <c>id</c> is what per-customer limits count by.</summary>
public sealed record CustomerInput
{
    public string? Id { get; set; }

    public IReadOnlyList<string>? Segments { get; set; }

    public string? MemberTier { get; set; }

    public bool FirstOrder { get; set; }
}
