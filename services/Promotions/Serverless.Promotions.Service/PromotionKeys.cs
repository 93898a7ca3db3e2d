using System.Globalization;

namespace Serverless.Promotions.Service;

/// <summary>Every state key the promotions capability writes, in one place so prefixes cannot drift apart.</summary>
internal static class PromotionKeys
{
    public const string Root = "promotions||";
    public const string PromotionPrefix = Root + "promotion||";
    public const string StatusPrefix = Root + "status||";
    public const string DuePrefix = Root + "due||";
    public const string ExhaustedPrefix = Root + "exhausted||";

    /// <summary>Written (last write wins) by every change that alters what calculate sees; instances poll its ETag.</summary>
    public const string CatalogVersion = Root + "catalog-version";

    public static string Promotion(string id) => PromotionPrefix + id;

    public static string Status(Catalog.PromotionStatus status, string id) => $"{StatusPrefix}{status}||{id}";

    public static string StatusList(Catalog.PromotionStatus status) => $"{StatusPrefix}{status}||";

    /// <summary>Sorts by due time (19-digit UTC ticks), so the timer reads only the head of the index.</summary>
    public static string Due(DateTimeOffset at, string action, string id) =>
        string.Create(CultureInfo.InvariantCulture, $"{DuePrefix}{at.UtcTicks:D19}||{action}||{id}");

    public static string Exhausted(string id) => ExhaustedPrefix + id;

    public const string JournalPrefix = Root + "journal||";

    /// <summary>Which promotions changed in one UTC second (the id is in the key, so a reader lists and never reads values).</summary>
    public static string JournalSecond(DateTimeOffset at) =>
        JournalPrefix + at.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "||";

    public static string Journal(DateTimeOffset at, string id) => $"{JournalSecond(at)}{id}||{Serverless.BuildingBlocks.State.TimeOrderedId.Next(at)}";

    /// <summary>Begins every counter key: usage records and per-customer / per-coupon use counts.</summary>
    public const string UsagePrefix = Root + "usage";

    public const string OrderPrefix = Root + "order||";

    public static string Usage(string id) => $"{UsagePrefix}||{id}";

    public static string CustomerUses(string id, string customer) => $"{UsagePrefix}-customer||{id}||{customer}";

    public static string CouponUses(string id, string code) => $"{UsagePrefix}-coupon||{id}||{code}";

    public static string Order(string orderId) => OrderPrefix + orderId;

    public static string Settlement(string id) => $"{Root}settlement||{id}";

    /// <summary>The coupon master secret when none is configured: created once (create-only), never logged or returned.</summary>
    public const string CouponSecret = Root + "coupon-secret";

    public const string CouponPrefixIndexPrefix = Root + "coupon-prefix||";

    /// <summary>The batches whose codes start with <paramref name="prefix"/> (one key per batch: promotion id and batch id in the key).</summary>
    public static string CouponPrefixIndex(string prefix) => $"{CouponPrefixIndexPrefix}{prefix}||";

    public static string CouponBatchIndex(string prefix, string promotionId, string batchId) => $"{CouponPrefixIndex(prefix)}{promotionId}||{batchId}";

    /// <summary>Ids and codes become parts of keys: letters, digits and . _ - : only, at most 128 characters.</summary>
    public static bool IsValidPart(string? value) =>
        value is { Length: > 0 and <= 128 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':');
}
