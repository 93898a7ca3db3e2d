using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>Reads a request body with a source-generated serialiser; malformed JSON becomes a 400 naming the JSON path it failed at.</summary>
internal static class JsonBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken, Action<JsonNode?>? amend = null)
        where T : class
    {
        try
        {
            T? value;
            if (amend is null)
            {
                value = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var node = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
                amend(node);
                value = node.Deserialize(typeInfo);
            }

            return value is null ? (null, Invalid("$", "a JSON object is required")) : (value, null);
        }
        catch (JsonException ex)
        {
            var path = ex.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : ex.Path ?? "$";
            return (null, Invalid(path, "is not valid here: " + (ex.Message.Split(" Path:", 2)[0])));
        }
    }

    public static IResult Invalid(string path, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [path] = [message] });

    public static string TraceId(HttpContext context) => Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
}
