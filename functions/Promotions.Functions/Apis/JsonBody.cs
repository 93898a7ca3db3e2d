using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Serverless.BuildingBlocks.Http;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>Reads a request body with a source-generated serialiser; malformed JSON becomes a 400 naming the JSON path it failed at.</summary>
internal static class JsonBody
{
    /// <summary>Bodies up to this size (the host's body limit applies first) are read whole and parsed in one go.</summary>
    private const long MaxBuffered = 4 * 1024 * 1024;

    /// <summary>A faster reader for the usual form of a body: the value, or null to have the generated reader read it.</summary>
    public delegate T? FastReader<T>(ReadOnlySpan<byte> json);

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken, Action<JsonNode?>? amend = null, FastReader<T>? fast = null)
        where T : class
    {
        try
        {
            T? value;
            if (amend is null && request.ContentLength is { } declared and <= MaxBuffered)
            {
                // The usual case: the whole body into a pooled buffer, then one synchronous parse (no resumable
                // continuation state, which costs more than the read). The server ends the body at Content-Length.
                var buffer = ArrayPool<byte>.Shared.Rent((int)declared);
                try
                {
                    await request.Body.ReadExactlyAsync(buffer.AsMemory(0, (int)declared), cancellationToken).ConfigureAwait(false);
                    var json = buffer.AsSpan(0, (int)declared);
                    value = fast?.Invoke(json) ?? JsonSerializer.Deserialize(json, typeInfo);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            else if (amend is null)
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
            return (null, Invalid(JsonProblems.FieldPath(ex.Path, root: "$"), JsonProblems.Describe(ex)));
        }
    }

    public static IResult Invalid(string path, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [path] = [message] });

    public static string TraceId(HttpContext context) => Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
}
