using System.Globalization;
using System.Text.Json;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Runs;

/// <summary>Turns the values a caller gave for a new run into the run's typed parameters, defaults filled in.</summary>
public static class RunParameters
{
    public static (IReadOnlyDictionary<string, object?> Values, IReadOnlyList<PipelineProblem> Problems) Resolve(PipelineDefinition definition, IReadOnlyDictionary<string, string?> given)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(given);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var problems = new List<PipelineProblem>();
        foreach (var name in given.Keys.Where(k => !definition.Parameters.Any(p => p.Name == k)))
        {
            problems.Add(new($"parameters.{name}", "unknown parameter"));
        }

        foreach (var parameter in definition.Parameters)
        {
            var path = $"parameters.{parameter.Name}";
            if (!given.TryGetValue(parameter.Name, out var text) || text is null)
            {
                if (parameter.Default is { } fallback)
                {
                    values[parameter.Name] = fallback.ValueKind switch
                    {
                        JsonValueKind.Number => fallback.GetDouble(),
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => fallback.GetString(),
                    };
                }
                else if (parameter.Required)
                {
                    problems.Add(new(path, "required"));
                }
                else
                {
                    values[parameter.Name] = null;
                }

                continue;
            }

            switch (parameter.Type)
            {
                // Finite only: "NaN", "Infinity" and 1e400 (which parses as infinity) are not numbers a step can use.
                case ParameterType.Number when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number):
                    values[parameter.Name] = number;
                    break;
                case ParameterType.Flag when bool.TryParse(text, out var flag):
                    values[parameter.Name] = flag;
                    break;
                case ParameterType.Text:
                case ParameterType.Choice when parameter.Options.Contains(text, StringComparer.Ordinal):
                    values[parameter.Name] = text;
                    break;
                case ParameterType.Choice:
                    problems.Add(new(path, $"'{text}' is not one of the options ({string.Join(", ", parameter.Options)})"));
                    break;
                default:
                    problems.Add(new(path, $"expected a {(parameter.Type == ParameterType.Number ? "number" : "boolean")} but found '{text}'"));
                    break;
            }
        }

        return (values, problems);
    }
}
