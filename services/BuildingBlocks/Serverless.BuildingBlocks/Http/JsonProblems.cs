using System.Text.Json;
using System.Text.RegularExpressions;

namespace Serverless.BuildingBlocks.Http;

/// <summary>
/// A JSON body the serializer refused, told in the API's words: the field path as the API names fields, and what is
/// wrong without the .NET type names System.Text.Json puts in its messages.
/// </summary>
public static partial class JsonProblems
{
    private const string MissingRequired = "missing required properties including: ";

    /// <summary>"$.lines[3].quantity" as the API names fields elsewhere ("lines[3].quantity"); <paramref name="root"/> for the whole body.</summary>
    public static string FieldPath(string? jsonPath, string root = "body") => jsonPath switch
    {
        null or "" or "$" => root,
        _ when jsonPath.StartsWith("$.", StringComparison.Ordinal) => jsonPath[2..],
        _ => jsonPath.TrimStart('$'),
    };

    /// <summary>
    /// A value of the wrong JSON type, the required members missing (by their JSON names), a syntax error as the reader
    /// describes it (position included), a converter's own message; anything naming a .NET type becomes a general line.
    /// </summary>
    public static string Describe(JsonException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message.Split(" Path:", 2)[0];
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return "The value has the wrong JSON type for this field.";
        }

        var missing = message.IndexOf(MissingRequired, StringComparison.Ordinal);
        if (missing >= 0)
        {
            return "Missing required properties: " + message[(missing + MissingRequired.Length)..].TrimEnd('.');
        }

        if (DotNetTypeName().IsMatch(message))
        {
            return "The body is not valid JSON for this endpoint.";
        }

        return exception.LineNumber is { } line && exception.BytePositionInLine is { } position
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{message} (line {line + 1}, byte {position + 1})")
            : message;
    }

    [GeneratedRegex(@"\b(System|Serverless|Microsoft|Azure)\.[A-Za-z]", RegexOptions.CultureInvariant)]
    private static partial Regex DotNetTypeName();
}
