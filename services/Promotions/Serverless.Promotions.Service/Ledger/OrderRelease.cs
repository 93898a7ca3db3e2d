using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Validation;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>What a cancel or return gives back of one promotion an order consumed.</summary>
internal sealed record ReleasedConsumption(Consumption Before, decimal Discount, long Units, bool Use);

/// <summary>
/// A cancel or return worked out against the stored order, without I/O: either an answer at once (Unchanged: already
/// cancelled or the same return id again; Problems: a line or quantity that does not fit) or the updated order and
/// what goes back to each promotion's counters.
/// </summary>
internal sealed record OrderRelease(OrderRecord? Unchanged, IReadOnlyList<ValidationProblem>? Problems, OrderRecord? Updated, IReadOnlyList<ReleasedConsumption> Releases)
{
    /// <summary>No lines: cancel everything (including the use). Lines: each returned line's share of each promotion's discount; the use comes back once every unit is returned.</summary>
    public static OrderRelease Plan(OrderRecord order, OrderReturn? request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(order);
        var partial = request?.Lines is { Count: > 0 };
        if (order.Status == OrderStatus.Cancelled || (partial && order.Returns.Contains(request!.ReturnId!, StringComparer.Ordinal)))
        {
            return new(order, null, null, []);
        }

        var minorUnits = CurrencyTable.MinorUnits(order.Result.Currency);
        var returned = new Dictionary<string, int>(order.Returned, StringComparer.Ordinal);
        var release = order.Consumptions.ToDictionary(c => c.PromotionId, _ => (Discount: 0m, Units: 0L), StringComparer.Ordinal);
        if (partial)
        {
            var problems = new List<ValidationProblem>();
            for (var i = 0; i < request!.Lines!.Count; i++)
            {
                var back = request.Lines[i];
                var line = order.Result.Lines.FirstOrDefault(l => l.LineId == back.LineId);
                var already = returned.GetValueOrDefault(back.LineId ?? string.Empty);
                if (line is null)
                {
                    problems.Add(new($"lines[{i}].lineId", $"the order has no line '{back.LineId}'"));
                }
                else if (back.Quantity <= 0 || already + back.Quantity > line.Quantity)
                {
                    problems.Add(new($"lines[{i}].quantity", $"must be between 1 and {line.Quantity - already} (the units not yet returned)"));
                }
                else
                {
                    var after = already + back.Quantity;
                    returned[line.LineId] = after;
                    foreach (var adjustment in line.Adjustments.Where(a => release.ContainsKey(a.PromotionId)))
                    {
                        // Cumulative: the line's share returned after this return less the share returned before it, each
                        // rounded, so returns one unit at a time give back exactly the line's discount in the end (5.00 over
                        // 3 units: 1.67 + 1.66 + 1.67, not 3 × 1.67 = 5.01).
                        var (discount, units) = release[adjustment.PromotionId];
                        release[adjustment.PromotionId] = (
                            discount + Share(adjustment.Amount, after, line.Quantity, minorUnits) - Share(adjustment.Amount, already, line.Quantity, minorUnits),
                            units + ((long)adjustment.Units * after / line.Quantity) - ((long)adjustment.Units * already / line.Quantity));
                    }
                }
            }

            if (problems.Count > 0)
            {
                return new(null, problems, null, []);
            }
        }

        var everything = !partial || order.Result.Lines.All(l => returned.GetValueOrDefault(l.LineId) >= l.Quantity);
        var releases = order.Consumptions.Select(c =>
        {
            var (discount, units) = everything
                ? (c.Discount - c.ReleasedDiscount, c.Units - c.ReleasedUnits)
                : (Math.Min(release[c.PromotionId].Discount, c.Discount - c.ReleasedDiscount), Math.Min(release[c.PromotionId].Units, c.Units - c.ReleasedUnits));
            return new ReleasedConsumption(c, discount, units, everything && !c.UseReleased);
        }).ToList();

        var updated = order with
        {
            Status = everything ? OrderStatus.Cancelled : OrderStatus.Committed,
            CancelledAt = everything ? now : null,
            Returned = returned,
            Returns = partial ? [.. order.Returns, request!.ReturnId!] : order.Returns,
            Consumptions = [.. releases.Select(r => r.Before with
            {
                ReleasedDiscount = r.Before.ReleasedDiscount + r.Discount,
                ReleasedUnits = r.Before.ReleasedUnits + r.Units,
                UseReleased = r.Before.UseReleased || r.Use,
            })],
        };
        return new(null, null, updated, releases);
    }

    /// <summary>The part of a line's discount that <paramref name="units"/> of its <paramref name="quantity"/> carry, rounded to the currency.</summary>
    private static decimal Share(decimal amount, int units, int quantity, int minorUnits) =>
        decimal.Round(amount * units / quantity, minorUnits, MidpointRounding.ToEven);
}
