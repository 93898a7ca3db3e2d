using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>A basket line's attributes as a snapshot's numbers (see <see cref="AttributeIds"/>), computed once per calculation.</summary>
internal sealed class LineFacts
{
    private LineFacts(int sku, int brand, int[] categories, int[] tags, decimal unitPrice)
    {
        Sku = sku;
        Brand = brand;
        Categories = categories;
        Tags = tags;
        UnitPrice = unitPrice;
    }

    public int Sku { get; private set; }

    public int Brand { get; private set; }

    public int[] Categories { get; private set; }

    public int[] Tags { get; private set; }

    public decimal UnitPrice { get; private set; }

    /// <summary>A blank instance for <see cref="Pricing.CalculationScratch"/>, filled per calculation with <see cref="Fill"/>.</summary>
    internal static LineFacts Empty() => new(-1, -1, [], [], 0m);

    /// <summary>Takes this line's attributes, reusing the id arrays when their length fits.</summary>
    internal void Fill(BasketLine line, AttributeIds ids)
    {
        Sku = ids.Find(IndexKind.Sku, line.Sku);
        Brand = ids.Find(IndexKind.Brand, line.Brand);
        Categories = Known(line.Categories, IndexKind.Category, ids, Categories);
        Tags = Known(line.Tags, IndexKind.Tag, ids, Tags);
        UnitPrice = line.UnitPrice;
    }

    public static LineFacts[] For(Basket basket, AttributeIds ids)
    {
        var facts = new LineFacts[basket.Lines.Count];
        for (var i = 0; i < facts.Length; i++)
        {
            var line = basket.Lines[i];
            facts[i] = new LineFacts(
                ids.Find(IndexKind.Sku, line.Sku),
                ids.Find(IndexKind.Brand, line.Brand),
                Known(line.Categories, IndexKind.Category, ids),
                Known(line.Tags, IndexKind.Tag, ids),
                line.UnitPrice);
        }

        return facts;
    }

    private static int[] Known(IReadOnlyList<string> values, IndexKind kind, AttributeIds ids, int[]? reuse = null)
    {
        if (values.Count == 0)
        {
            return [];
        }

        // Almost always one or two values: look them up into a stack buffer, then copy the known ones once.
        Span<int> found = values.Count <= 64 ? stackalloc int[values.Count] : new int[values.Count];
        var count = 0;
        for (var i = 0; i < values.Count; i++)
        {
            if (ids.Find(kind, values[i]) is var id and >= 0)
            {
                found[count++] = id;
            }
        }

        if (count == 0)
        {
            return [];
        }

        if (reuse is not null && reuse.Length == count)
        {
            found[..count].CopyTo(reuse);
            return reuse;
        }

        return found[..count].ToArray();
    }
}
