namespace Serverless.Promotions.Engine.Validation;

/// <summary>A basket that cannot be priced; <see cref="Problems"/> lists every one with its path.</summary>
public sealed class BasketValidationException : Exception
{
    public BasketValidationException()
        : this([])
    {
    }

    public BasketValidationException(string message)
        : base(message)
    {
        Problems = [];
    }

    public BasketValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [];
    }

    public BasketValidationException(IReadOnlyList<ValidationProblem> problems)
        : base($"Invalid basket: {string.Join("; ", problems.Select(p => $"{p.Path}: {p.Message}"))}")
    {
        Problems = problems;
    }

    public IReadOnlyList<ValidationProblem> Problems { get; }
}
