namespace Serverless.Pipelines.Expressions;

/// <summary>The parsed form of an expression: data only, evaluated by <see cref="ExpressionEvaluator"/>.</summary>
public abstract record Expr(int Column);

public sealed record LiteralExpr(object? Value, int Column) : Expr(Column);

/// <summary>A context lookup such as <c>steps.build.outputs.version</c>: a root (parameters, steps, trigger, run) and the keys below it.</summary>
public sealed record ContextExpr(IReadOnlyList<string> Path, int Column) : Expr(Column)
{
    public override string ToString() => string.Join('.', Path);
}

public sealed record CallExpr(string Function, IReadOnlyList<Expr> Arguments, int Column) : Expr(Column);

public sealed record NotExpr(Expr Operand, int Column) : Expr(Column);

public sealed record BinaryExpr(BinaryOperator Operator, Expr Left, Expr Right, int Column) : Expr(Column);
