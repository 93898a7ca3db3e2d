namespace Serverless.Pipelines.Expressions;

/// <summary>An expression that does not parse; <see cref="Column"/> is 1-based within the expression text.</summary>
public sealed class ExpressionException : Exception
{
    public ExpressionException()
    {
    }

    public ExpressionException(string message)
        : base(message)
    {
    }

    public ExpressionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ExpressionException(string reason, int column)
        : base($"{reason} at column {column}")
    {
        Reason = reason;
        Column = column;
    }

    public string Reason { get; } = string.Empty;

    public int Column { get; }
}
