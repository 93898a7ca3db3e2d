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

    public int Sku { get; }

    public int Brand { get; }

    public int[] Categories { get; }

    public int[] Tags { get; }

    public decimal UnitPrice { get; }

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

    private static int[] Known(IReadOnlyList<string> values, IndexKind kind, AttributeIds ids)
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

        return count == 0 ? [] : found[..count].ToArray();
    }
}
