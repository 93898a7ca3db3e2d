using System.Globalization;
using System.Text.Json;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// Evaluates an <see cref="Expr"/> tree over an <see cref="ExpressionContext"/>. Values are null, bool, double,
/// string or a read-only dictionary; nothing else can be produced, so nothing can be executed.
/// </summary>
/// <remarks>
/// Comparison follows GitHub Actions: equal types compare directly (strings ignoring case), mixed types compare
/// as numbers (null 0, true 1, a non-numeric string NaN, which equals nothing). A missing key reads as null.
/// </remarks>
public static class ExpressionEvaluator
{
    public static object? Evaluate(Expr expr, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(expr);
        ArgumentNullException.ThrowIfNull(context);
        return expr switch
        {
            LiteralExpr literal => literal.Value,
            ContextExpr path => Lookup(path, context),
            NotExpr not => !IsTruthy(Evaluate(not.Operand, context)),
            BinaryExpr { Operator: BinaryOperator.And } and => EvaluateAnd(and, context),
            BinaryExpr { Operator: BinaryOperator.Or } or => EvaluateOr(or, context),
            BinaryExpr binary => Compare(binary.Operator, Evaluate(binary.Left, context), Evaluate(binary.Right, context)),
            CallExpr call => Call(call, context),
            _ => throw new InvalidOperationException($"Unknown expression node {expr.GetType().Name}."),
        };
    }

    /// <summary>Parses and evaluates <paramref name="text"/> as a condition.</summary>
    public static bool EvaluateCondition(string text, ExpressionContext context) => IsTruthy(Evaluate(ExpressionParser.Parse(text), context));

    public static bool IsTruthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        _ => true,
    };

    /// <summary>How a value reads inside a template: null is empty, numbers invariant, booleans lower case.</summary>
    public static string ToText(object? value) => value switch
    {
        null => string.Empty,
        bool b => b ? "true" : "false",
        double d => d.ToString(CultureInfo.InvariantCulture),
        string s => s,
        _ => JsonSerializer.Serialize(value),
    };

    // && and || return an operand, not a bool, as in GitHub Actions (so `a || 'default'` works in templates).
    private static object? EvaluateAnd(BinaryExpr and, ExpressionContext context)
    {
        var left = Evaluate(and.Left, context);
        return IsTruthy(left) ? Evaluate(and.Right, context) : left;
    }

    private static object? EvaluateOr(BinaryExpr or, ExpressionContext context)
    {
        var left = Evaluate(or.Left, context);
        return IsTruthy(left) ? left : Evaluate(or.Right, context);
    }

    private static bool Call(CallExpr call, ExpressionContext context)
    {
        switch (call.Function)
        {
            case "success": return context.NeedsSucceeded && !context.Cancelled;
            case "failure": return context.UpstreamFailed;
            case "always": return true;
            case "cancelled": return context.Cancelled;
        }

        var a = Evaluate(call.Arguments[0], context);
        var b = ToText(Evaluate(call.Arguments[1], context));
        return call.Function switch
        {
            "contains" when a is IReadOnlyList<object?> list => list.Any(item => Compare(BinaryOperator.Equal, item, b) is true),
            "contains" => ToText(a).Contains(b, StringComparison.OrdinalIgnoreCase),
            "startsWith" => ToText(a).StartsWith(b, StringComparison.OrdinalIgnoreCase),
            "endsWith" => ToText(a).EndsWith(b, StringComparison.OrdinalIgnoreCase),
            _ => throw new InvalidOperationException($"Unknown function {call.Function}."),
        };
    }

    private static object? Lookup(ContextExpr path, ExpressionContext context)
    {
        object? current = path.Path[0] switch
        {
            "parameters" => context.Parameters,
            "trigger" => context.Trigger,
            "run" => context.Run,
            "steps" => context.Steps,
            _ => null,
        };
        foreach (var key in path.Path.Skip(1))
        {
            current = current switch
            {
                IReadOnlyDictionary<string, object?> map => map.GetValueOrDefault(key),
                IReadOnlyDictionary<string, string> map => map.GetValueOrDefault(key),
                IReadOnlyDictionary<string, StepContext> steps => steps.GetValueOrDefault(key),
                StepContext step => key switch
                {
                    "status" => step.Status,
                    "outputs" => step.Outputs,
                    _ => null,
                },
                JsonElement { ValueKind: JsonValueKind.Object } element => element.TryGetProperty(key, out var child) ? child : null,
                _ => null,
            };
        }

        return Normalize(current);
    }

    /// <summary>Brings host values (ints, JSON elements) into the evaluator's value set.</summary>
    internal static object? Normalize(object? value) => value switch
    {
        null => null,
        bool or double or string => value,
        int i => (double)i,
        long l => (double)l,
        decimal m => (double)m,
        float f => (double)f,
        JsonElement element => element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => element,
        },
        _ => value,
    };

    private static bool Compare(BinaryOperator op, object? left, object? right)
    {
        left = Normalize(left);
        right = Normalize(right);
        if (left is string ls && right is string rs)
        {
            var order = string.Compare(ls, rs, StringComparison.OrdinalIgnoreCase);
            return Ordered(op, order);
        }

        if (op is BinaryOperator.Equal or BinaryOperator.NotEqual && (left is null && right is null || left is bool && right is bool))
        {
            return op == BinaryOperator.Equal == Equals(left, right);
        }

        if (op is BinaryOperator.Equal or BinaryOperator.NotEqual && (IsComposite(left) || IsComposite(right)))
        {
            return op == BinaryOperator.Equal == ReferenceEquals(left, right);
        }

        var a = ToNumber(left);
        var b = ToNumber(right);
        if (double.IsNaN(a) || double.IsNaN(b))
        {
            // NaN is unequal to everything, itself included, and unordered.
            return op == BinaryOperator.NotEqual;
        }

        return Ordered(op, a.CompareTo(b));
    }

    private static bool IsComposite(object? value) => value is not (null or bool or double or string);

    private static bool Ordered(BinaryOperator op, int order) => op switch
    {
        BinaryOperator.Equal => order == 0,
        BinaryOperator.NotEqual => order != 0,
        BinaryOperator.Less => order < 0,
        BinaryOperator.LessOrEqual => order <= 0,
        BinaryOperator.Greater => order > 0,
        _ => order >= 0,
    };

    private static double ToNumber(object? value) => value switch
    {
        null => 0,
        bool b => b ? 1 : 0,
        double d => d,
        string s when s.Trim().Length == 0 => 0,
        string s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : double.NaN,
        _ => double.NaN,
    };
}
