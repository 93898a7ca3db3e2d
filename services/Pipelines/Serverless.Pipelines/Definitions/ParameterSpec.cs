using System.Text.Json;

namespace Serverless.Pipelines.Definitions;

/// <summary>
/// A typed run parameter. Parameters apply to every trigger; a manual run may set them, a push or schedule run
/// uses the defaults. A required parameter without a default can only be started manually.
/// </summary>
public sealed record ParameterSpec
{
    public required string Name { get; init; }

    public ParameterType Type { get; init; } = ParameterType.Text;

    /// <summary>The default as JSON (string, number or boolean), so a stored definition round-trips unchanged.</summary>
    public JsonElement? Default { get; init; }

    public bool Required { get; init; }

    /// <summary>The allowed values of a <see cref="ParameterType.Choice"/> parameter.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];

    public string? Description { get; init; }
}
