namespace Serverless.Promotions.Engine.Validation;

/// <summary>Definitions that cannot be compiled; <see cref="Problems"/> lists every one with its path.</summary>
public sealed class PromotionDefinitionException : Exception
{
    public PromotionDefinitionException()
        : this([])
    {
    }

    public PromotionDefinitionException(string message)
        : base(message)
    {
        Problems = [];
    }

    public PromotionDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [];
    }

    public PromotionDefinitionException(IReadOnlyList<ValidationProblem> problems)
        : base($"Invalid promotion definitions: {string.Join("; ", problems.Select(p => $"{p.Path}: {p.Message}"))}")
    {
        Problems = problems;
    }

    public IReadOnlyList<ValidationProblem> Problems { get; }
}
