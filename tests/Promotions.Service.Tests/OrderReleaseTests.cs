using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

/// <summary>Returns worked out against a stored order, without I/O.</summary>
public sealed class OrderReleaseTests
{
    private static readonly DateTimeOffset At = new(2026, 6, 13, 12, 0, 0, TimeSpan.Zero);

    /// <summary>10 off the order: 5.00 on three caps (3 × 10.00), 5.00 on one bag (30.00).</summary>
    private static OrderRecord Order()
    {
        LineResult Line(string id, int quantity, decimal price, decimal discount) => new(
            id, id, quantity, price, price * quantity, [new LineAdjustment("ten-off", discount, 0)], [new UnitPriceGroup(quantity, price)], (price * quantity) - discount);
        var result = new PricingResult("EUR", 60m, 0m, 10m, 0m, 0m, 50m, [Line("caps", 3, 10m, 5m), Line("bag", 1, 30m, 5m)], [], [], [], SearchMode.Exact);
        return new OrderRecord("o1", OrderStatus.Committed, At, "berlin-1", "pos", "2026-06-13", null, result, [new Consumption("ten-off", 10m, 4, null)]);
    }

    [Fact]
    public void Returning_a_line_one_unit_at_a_time_gives_back_exactly_its_discount()
    {
        var order = Order();
        var released = new List<decimal>();
        for (var i = 1; i <= 3; i++)
        {
            var plan = OrderRelease.Plan(order, new OrderReturn($"r{i}", [new ReturnLine("caps", 1)]), At);
            released.Add(plan.Releases.Single().Discount);
            order = plan.Updated!;
        }

        Assert.Equal([1.67m, 1.66m, 1.67m], released);
        Assert.Equal(5m, order.Consumptions.Single().ReleasedDiscount);
        Assert.Equal(OrderStatus.Committed, order.Status); // the bag is still kept, with its 5.00

        var last = OrderRelease.Plan(order, new OrderReturn("r4", [new ReturnLine("bag", 1)]), At);
        Assert.Equal(5m, last.Releases.Single().Discount);
        Assert.Equal(OrderStatus.Cancelled, last.Updated!.Status);
        Assert.Equal(10m, last.Updated.Consumptions.Single().ReleasedDiscount);
    }

    [Fact]
    public void Two_units_in_one_return_and_one_in_another_give_back_the_same_as_one_at_a_time()
    {
        var plan = OrderRelease.Plan(Order(), new OrderReturn("r1", [new ReturnLine("caps", 2)]), At);
        Assert.Equal(3.33m, plan.Releases.Single().Discount);
        var rest = OrderRelease.Plan(plan.Updated!, new OrderReturn("r2", [new ReturnLine("caps", 1)]), At);
        Assert.Equal(1.67m, rest.Releases.Single().Discount);
    }
}
