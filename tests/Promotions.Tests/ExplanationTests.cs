using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class ExplanationTests
{
    private static readonly Basket Shoes = Basket(Line("1", "runner", 2, 44m, "shoes"));

    [Fact]
    public void Minimum_spend_not_met_gives_an_upsell_hint()
    {
        var promotion = Order("p", new Reward.AmountOffOrder(10m)) with { Conditions = [new Condition.MinimumSpend(100m)] };

        var outcome = Price(Shoes, promotion).Outcome("p");

        Assert.False(outcome.Applied);
        Assert.Equal(OutcomeReason.MinimumSpendNotMet, outcome.Reason);
        Assert.Equal(12.00m, outcome.MissingAmount);
        Assert.Equal(10.00m, outcome.PotentialSaving);
        Assert.Equal("Spend 12.00 more to save 10.00.", outcome.Message);
    }

    [Fact]
    public void Spend_tiers_not_reached_give_the_first_tier_as_the_hint()
    {
        var promotion = Order("p", new Reward.SpendTiers([new SpendTier(100m, 10m), new SpendTier(200m, 25m)]));

        var outcome = Price(Shoes, promotion).Outcome("p");

        Assert.Equal(OutcomeReason.MinimumSpendNotMet, outcome.Reason);
        Assert.Equal("Spend 12.00 more to save 10.00.", outcome.Message);
    }

    [Fact]
    public void Minimum_quantity_not_met()
    {
        var promotion = Item("p", new Reward.PercentOffItems(10m)) with { Conditions = [new Condition.MinimumQuantity(3, Categories("shoes"))] };

        var outcome = Price(Shoes, promotion).Outcome("p");

        Assert.Equal(OutcomeReason.MinimumQuantityNotMet, outcome.Reason);
        Assert.Equal("Add 1 more qualifying item(s) to qualify.", outcome.Message);
    }

    [Fact]
    public void No_matching_items()
    {
        var promotion = Item("p", new Reward.PercentOffItems(10m, new ItemPredicate.PriceRange(100m, null)));

        Assert.Equal(OutcomeReason.NoMatchingItems, Price(Shoes, promotion).Outcome("p").Reason);
    }

    [Theory]
    [InlineData("channel")]
    [InlineData("store")]
    [InlineData("region")]
    [InlineData("segment")]
    [InlineData("memberTier")]
    [InlineData("firstOrder")]
    public void Not_targeted_names_the_dimension(string dimension)
    {
        var targeting = dimension switch
        {
            "channel" => new PromotionTargeting { Channels = [SalesChannel.Pos] },
            "store" => new PromotionTargeting { StoreIds = ["berlin-1"] },
            "region" => new PromotionTargeting { Regions = ["EU-West"] },
            "segment" => new PromotionTargeting { Segments = ["students"] },
            "memberTier" => new PromotionTargeting { MemberTiers = ["gold"] },
            _ => new PromotionTargeting { FirstOrderOnly = true },
        };
        var promotion = Item("p", new Reward.PercentOffItems(10m)) with { Targeting = targeting };
        var context = new PricingContext(Noon) { Channel = SalesChannel.Online, StoreId = "paris-2", Region = "EU-South", Segments = ["families"], MemberTier = "silver" };

        var outcome = Price(Shoes, context, null, promotion).Outcome("p");

        Assert.Equal(OutcomeReason.NotTargeted, outcome.Reason);
        Assert.Equal(dimension, outcome.Detail);
    }

    [Fact]
    public void Targeted_customers_get_the_promotion()
    {
        var promotion = Item("p", new Reward.PercentOffItems(10m)) with
        {
            Targeting = new PromotionTargeting { Channels = [SalesChannel.Pos, SalesChannel.App], StoreIds = ["berlin-1"], Segments = ["students", "staff"], FirstOrderOnly = true },
        };
        var context = new PricingContext(Noon) { Channel = SalesChannel.Pos, StoreId = "berlin-1", Segments = ["staff"], FirstOrder = true };

        Assert.True(Price(Shoes, context, null, promotion).Outcome("p").Applied);
    }

    [Fact]
    public void Coupons_unlock_a_promotion_by_static_code_case_insensitively_or_by_a_code_of_one_of_its_batches()
    {
        var promotion = Item("p", new Reward.PercentOffItems(10m)) with { Coupon = new CouponRequirement { Codes = ["SUMMER10"] } };

        Assert.Equal(OutcomeReason.CouponMissing, Price(Shoes, promotion).Outcome("p").Reason);
        Assert.Equal(OutcomeReason.CouponMissing, Price(Shoes, new PricingContext(Noon) { Coupons = ["WINTER"] }, null, promotion).Outcome("p").Reason);
        Assert.True(Price(Shoes, new PricingContext(Noon) { Coupons = ["summer10"] }, null, promotion).Outcome("p").Applied);
        var spaced = Price(Shoes, new PricingContext(Noon) { Coupons = [" Summer10 "] }, null, promotion).Outcome("p");
        Assert.True(spaced.Applied);
        Assert.Equal("SUMMER10", spaced.Coupon); // counted under the code as defined

        // A static code at its per-code limit (the service passes them) no longer unlocks it, and says so; another code still does.
        var usedUp = new PricingContext(Noon) { Coupons = ["summer10"], ExhaustedCouponCodes = new Dictionary<string, IReadOnlySet<string>> { ["p"] = new HashSet<string> { "SUMMER10" } } };
        var refused = Price(Shoes, usedUp, null, promotion).Outcome("p");
        Assert.Equal((OutcomeReason.CouponUsedUp, "Coupon code SUMMER10 has been used up."), (refused.Reason, refused.Message));
        Assert.False(Price(Shoes, usedUp, null, promotion with { Coupon = new CouponRequirement { Codes = ["SUMMER10", "SUN"] } }).Outcome("p").Applied);
        Assert.True(Price(Shoes, usedUp with { Coupons = ["summer10", "sun"] }, null, promotion with { Coupon = new CouponRequirement { Codes = ["SUMMER10", "SUN"] } }).Outcome("p").Applied);

        // Generated codes are verified by the promotion's batches, compiled with the snapshot (see CouponBatchTests).
        var batch = new CouponBatch("b1", "p", "X7K", 100, Convert.ToBase64String(new byte[32]));
        var code = CouponCodes.Generate(batch, 22);
        var context = new PricingContext(Noon) { Coupons = [code] };
        Assert.True(PromotionSnapshot.Compile([promotion], [batch]).Calculate(Shoes, context).Outcome("p").Applied);
        Assert.Equal(OutcomeReason.CouponMissing, PromotionSnapshot.Compile([promotion]).Calculate(Shoes, context).Outcome("p").Reason);

        var otherPromotion = promotion with { Id = "q" };
        Assert.False(PromotionSnapshot.Compile([promotion, otherPromotion], [batch]).Calculate(Shoes, context).Outcome("q").Applied);
    }

    [Fact]
    public void Budget_exhausted()
    {
        var context = new PricingContext(Noon) { ExhaustedPromotionIds = new HashSet<string> { "p" } };

        var outcome = Price(Shoes, context, null, Item("p", new Reward.PercentOffItems(10m))).Outcome("p");

        Assert.Equal(OutcomeReason.BudgetExhausted, outcome.Reason);
    }

    [Fact]
    public void Every_line_shows_original_price_each_promotion_and_final_price()
    {
        var result = Price(
            Basket(Line("1", "runner", 3, 40m, "shoes"), Line("2", "sock", 1, 10m)),
            Item("b2g1", new Reward.BuyXGetY(2, 1, Categories("shoes"))),
            Order("five", new Reward.AmountOffOrder(5m)));

        var line = result.LineOf("1");
        Assert.Equal(40m, line.OriginalUnitPrice);
        Assert.Equal(120m, line.OriginalTotal);
        Assert.Equal(["b2g1", "five"], line.Adjustments.Select(a => a.PromotionId));
        Assert.Equal(40m, line.Adjustments[0].Amount);
        Assert.Equal(1, line.Adjustments[0].Units);

        // 5.00 split over 80 and 10: 4.44 + 0.56.
        Assert.Equal(4.44m, line.Adjustments[1].Amount);
        Assert.Equal(75.56m, line.FinalTotal);
        Assert.Equal(9.44m, result.LineOf("2").FinalTotal);
        Assert.Equal(85m, result.Total);
        Assert.All(result.Promotions, p => Assert.Equal(OutcomeReason.Applied, p.Reason));
    }
    [Fact]
    public void A_bundle_that_asks_more_than_the_items_cost_says_so_and_not_that_others_used_the_room()
    {
        var caps = Basket(Line("c", "cap", 3, 3m, "caps"));

        var outcome = Price(caps, Item("bundle", new Reward.BundlePrice(3, 10m, Categories("caps")))).Outcome("bundle");

        Assert.False(outcome.Applied);
        Assert.Equal("The items already cost no more than this promotion would make them.", outcome.Message);
    }

    [Fact]
    public void A_promotion_left_out_because_the_combination_saves_more_without_it_names_what_it_lost_to()
    {
        // 5 % would take the discounted subtotal under the 100 the 10-off needs: 5 alone against 10 alone.
        var basket = Basket(Line("a", "shoe", 1, 100m));
        var coupon = Item("five", new Reward.PercentOffItems(5m));
        var order = Order("ten-off", new Reward.AmountOffOrder(10m)) with { Conditions = [new Condition.MinimumSpend(100m, SpendBasis.Discounted)] };

        var result = Price(basket, coupon, order);

        Assert.Equal(10m, result.TotalDiscount);
        var five = result.Outcome("five");
        Assert.Equal((OutcomeReason.LostBestDeal, "ten-off"), (five.Reason, five.RelatedPromotionId));
        Assert.Equal("Applying it would not have increased the saving: ten-off saves more without it.", five.Message);
    }
    [Fact]
    public void A_promotion_with_a_currency_applies_only_to_baskets_in_it()
    {
        var tenOff = Order("ten-off", new Reward.AmountOffOrder(10m)) with { Currency = "EUR" };
        var euros = Basket(Line("a", "shoe", 1, 100m));
        var yen = new Basket("JPY", [Line("a", "shoe", 1, 12000m)]);

        Assert.Equal(10m, Price(euros, tenOff).TotalDiscount);
        var outcome = Price(yen, tenOff).Outcome("ten-off");
        Assert.Equal((OutcomeReason.NotTargeted, "currency"), (outcome.Reason, outcome.Detail));
        Assert.Equal("Its amounts are in EUR; this basket is in JPY.", outcome.Message);
        Assert.Equal("currency", Assert.Single(PromotionDefinitionValidator.Validate(tenOff with { Currency = "EURO" })).Path);
    }
}
