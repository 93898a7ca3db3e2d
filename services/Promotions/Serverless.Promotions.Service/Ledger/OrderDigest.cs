using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>
/// A canonical digest of what an order commit prices: the lines (id, sku, quantity, unit price, currency, categories,
/// brand, tags), the basket currency and shipping, channel, store, region, the customer (id, segments, member tier,
/// first order) and the coupons. Amounts are compared by value (5 and 5.00 are the same), unordered lists (categories,
/// tags, segments, coupons in any case) as sets; the order of the lines counts. The instant and acceptRecalculated are
/// not part of it: a retry is the same order whenever it arrives. Stored with the order so a reused order id with a
/// different basket is told apart from a retry.
/// </summary>
internal static class OrderDigest
{
    public static string Of(Basket basket, PricingContext context, string? customer)
    {
        var text = new StringBuilder(256);
        Field(text, "v1");
        Field(text, basket.Currency);
        Field(text, Amount(basket.ShippingAmount));
        Field(text, basket.Lines.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var line in basket.Lines)
        {
            Field(text, line.LineId);
            Field(text, line.Sku);
            Field(text, line.Quantity.ToString(CultureInfo.InvariantCulture));
            Field(text, Amount(line.UnitPrice));
            Field(text, line.Currency);
            Set(text, line.Categories, ignoreCase: false);
            Field(text, line.Brand);
            Set(text, line.Tags, ignoreCase: false);
        }

        Field(text, context.Channel.ToString());
        Field(text, context.StoreId);
        Field(text, context.Region);
        Field(text, customer);
        Set(text, context.Segments, ignoreCase: false);
        Field(text, context.MemberTier);
        Field(text, context.FirstOrder ? "1" : "0");
        Set(text, context.Coupons, ignoreCase: true);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Length-prefixed, so no two different requests give the same text; null differs from empty.</summary>
    private static void Field(StringBuilder text, string? value)
    {
        if (value is null)
        {
            text.Append("-;");
            return;
        }

        text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append(';');
    }

    private static void Set(StringBuilder text, IReadOnlyList<string> values, bool ignoreCase)
    {
        var sorted = values.Select(v => ignoreCase ? v.ToUpperInvariant() : v).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Field(text, sorted.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var value in sorted)
        {
            Field(text, value);
        }
    }

    private static string Amount(decimal value) => value.ToString("0.############################", CultureInfo.InvariantCulture);
}
