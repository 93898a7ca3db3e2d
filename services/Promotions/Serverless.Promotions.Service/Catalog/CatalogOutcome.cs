using Serverless.Promotions.Engine.Validation;

namespace Serverless.Promotions.Service.Catalog;

public enum CatalogOutcomeKind
{
    Ok,
    Created,
    Invalid,
    NotFound,
    Conflict,
}

/// <summary>What a catalog change did: the record, or the problems (Invalid), or why it was refused (Conflict).</summary>
public sealed record CatalogOutcome(CatalogOutcomeKind Kind, PromotionRecord? Record = null, IReadOnlyList<ValidationProblem>? Problems = null, string? Message = null)
{
    public static CatalogOutcome NotFound { get; } = new(CatalogOutcomeKind.NotFound);

    public static CatalogOutcome Conflict(string message) => new(CatalogOutcomeKind.Conflict, Message: message);

    public static CatalogOutcome Invalid(IReadOnlyList<ValidationProblem> problems) => new(CatalogOutcomeKind.Invalid, Problems: problems);
}
