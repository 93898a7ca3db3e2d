using System.Text.Json;
using Serverless.BuildingBlocks.Http;

namespace BuildingBlocks.Tests.Http;

public sealed class JsonProblemsTests
{
    private sealed record Shape
    {
        public required string Name { get; init; }

        public int Size { get; init; }
    }

    private static JsonException Refusal(string json) => Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Shape>(json, JsonSerializerOptions.Web));

    [Fact]
    public void Refusals_are_told_in_the_apis_words_without_dotnet_type_names()
    {
        var wrongType = Refusal("""{"name":"x","size":"big"}""");
        Assert.Equal(("size", "The value has the wrong JSON type for this field."), (JsonProblems.FieldPath(wrongType.Path), JsonProblems.Describe(wrongType)));

        var missing = Refusal("""{"size":1}""");
        Assert.Equal(("body", "Missing required properties: 'name'"), (JsonProblems.FieldPath(missing.Path), JsonProblems.Describe(missing)));
        Assert.Contains("Shape", missing.Message, StringComparison.Ordinal);

        // A syntax error keeps the reader's words and position, which name nothing of ours.
        var syntax = Refusal("""{"name": """);
        Assert.DoesNotContain("JsonProblemsTests", JsonProblems.Describe(syntax), StringComparison.Ordinal);
        Assert.EndsWith("(line 1, byte 10)", JsonProblems.Describe(syntax), StringComparison.Ordinal);

        Assert.Equal("The body is not valid JSON for this endpoint.", JsonProblems.Describe(new JsonException("Cannot create System.Collections.Generic.Foo here.")));
        Assert.Equal("unknown reward type 'bogus'", JsonProblems.Describe(new JsonException("unknown reward type 'bogus'")));
        Assert.Equal(("$", "lines[3].quantity"), (JsonProblems.FieldPath(null, root: "$"), JsonProblems.FieldPath("$.lines[3].quantity")));
    }
}
