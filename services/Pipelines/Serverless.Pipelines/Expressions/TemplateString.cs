using System.Text;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// A string with <c>${{ expr }}</c> holes, e.g. <c>deploy-${{ parameters.env }}</c>. Parsed once; rendering
/// evaluates each hole and inserts its text. Columns in errors count from the start of the whole string.
/// </summary>
public sealed class TemplateString
{
    private const string Open = "${{";
    private const string Close = "}}";

    private readonly IReadOnlyList<object> _parts;

    private TemplateString(IReadOnlyList<object> parts) => _parts = parts;

    /// <summary>The parsed holes, for validation (which parameters and steps a template reads).</summary>
    public IEnumerable<Expr> Expressions => _parts.OfType<Expr>();

    /// <summary>The literal texts (<see cref="string"/>) and holes (<see cref="Expr"/>) in order, for renderings that treat holes by where they fall (<see cref="UrlTemplate"/>).</summary>
    internal IReadOnlyList<object> Parts => _parts;

    public static TemplateString Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = new List<object>();
        var index = 0;
        while (index < text.Length)
        {
            var open = text.IndexOf(Open, index, StringComparison.Ordinal);
            if (open < 0)
            {
                parts.Add(text[index..]);
                break;
            }

            if (open > index)
            {
                parts.Add(text[index..open]);
            }

            var bodyStart = open + Open.Length;
            var close = text.IndexOf(Close, bodyStart, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ExpressionException("'${{' without a closing '}}'", open + 1);
            }

            parts.Add(ExpressionParser.Parse(text[bodyStart..close], bodyStart));

            index = close + Close.Length;
        }

        return new TemplateString(parts);
    }

    public static string Render(string text, ExpressionContext context) => Parse(text).Render(context);

    public string Render(ExpressionContext context)
    {
        var builder = new StringBuilder();
        foreach (var part in _parts)
        {
            builder.Append(part is Expr expr ? ExpressionEvaluator.ToText(ExpressionEvaluator.Evaluate(expr, context)) : (string)part);
        }

        return builder.ToString();
    }
}
