using System.Text.Json;

namespace Pipelines.Tests;

/// <summary>Found by review: http step bodies had parameter values spliced into their JSON text unescaped.</summary>
public sealed class JsonTemplateTests
{
    private static ExpressionContext With(string message) => new() { Parameters = new Dictionary<string, object?> { ["msg"] = message } };

    private static string BodyOf(string yaml) =>
        Assert.IsType<HttpStep>(PipelineParser.ParseYaml($"name: p\nparameters: {{msg: {{type: string}}}}\nsteps:\n  - {yaml}\n").Definition!.Steps[0]).Body!;

    [Theory]
    [InlineData("x\", \"channel\": \"exec\", \"admin\": true, \"z\": \"")]
    [InlineData("say \"hi\"")]
    [InlineData("back\\slash \\\" \\u0041")]
    [InlineData("{braces} [brackets] ${{ not.a.template }}")]
    [InlineData("new\nline\ttab \u0001 ünïcødé 🚀")]
    public void Parameter_values_stay_one_json_string(string message)
    {
        var body = BodyOf("{id: notify, kind: http, method: POST, url: 'https://chat.example/hook', body: {text: 'deployed: ${{ parameters.msg }}', channel: ops, n: 3, tags: ['${{ parameters.msg }}', true]}}");
        using var sent = JsonDocument.Parse(JsonTemplate.Render(body, With(message)));
        var root = sent.RootElement;
        Assert.Equal(["text", "channel", "n", "tags"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("deployed: " + message, root.GetProperty("text").GetString());
        Assert.Equal("ops", root.GetProperty("channel").GetString());
        Assert.Equal(3, root.GetProperty("n").GetInt32());
        Assert.Equal(message, root.GetProperty("tags")[0].GetString());
        Assert.True(root.GetProperty("tags")[1].GetBoolean());
    }

    [Fact]
    public void A_json_body_written_as_text_is_rendered_in_its_tree_too()
    {
        var body = BodyOf("{id: notify, kind: http, method: POST, url: 'https://x.example', body: '{\"version\": \"${{ parameters.msg }}\"}'}");
        using var sent = JsonDocument.Parse(JsonTemplate.Render(body, With("1\", \"op\": \"removeCanary")));
        Assert.Equal("1\", \"op\": \"removeCanary", Assert.Single(sent.RootElement.EnumerateObject()).Value.GetString());
    }

    [Fact]
    public void Templates_in_a_json_body_are_validated_by_their_path_in_the_body()
    {
        var problems = PipelineParser.ParseYaml("name: p\nsteps:\n  - {id: n, kind: http, url: 'https://x.example', body: {a: {b: ['${{ parameters.nope }}']}}}\n").Problems;
        Assert.Equal("steps[0].body.a.b[0]", Assert.Single(problems).Path);
    }

    [Fact]
    public void Only_objects_and_arrays_are_json_documents()
    {
        Assert.True(JsonTemplate.IsJsonDocument("{\"a\": 1}"));
        Assert.True(JsonTemplate.IsJsonDocument(" [1, 2]"));
        Assert.False(JsonTemplate.IsJsonDocument("{\"count\": ${{ parameters.n }}}")); // a text template, rendered as text
        Assert.False(JsonTemplate.IsJsonDocument("\"just a string\""));
        Assert.False(JsonTemplate.IsJsonDocument("hello ${{ parameters.msg }}"));
        Assert.False(JsonTemplate.IsJsonDocument(null));
    }
}
