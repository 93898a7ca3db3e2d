namespace Pipelines.Tests;

public sealed class ParsingTests
{
    [Fact]
    public void Yaml_and_json_give_the_same_model()
    {
        var fromYaml = PipelineParser.ParseYaml(Samples.Yaml);
        var fromJson = PipelineParser.ParseJson(Samples.Json);
        Assert.Empty(fromYaml.Problems);
        Assert.Empty(fromJson.Problems);
        Assert.Equal(PipelineJson.Serialize(fromYaml.Definition!), PipelineJson.Serialize(fromJson.Definition!));
    }

    [Fact]
    public void Reads_every_part_of_the_document_into_typed_records()
    {
        var definition = PipelineParser.ParseYaml(Samples.Yaml).Definition!;
        Assert.Equal("web-release", definition.Name);
        var push = Assert.IsType<PushTrigger>(definition.Triggers[0]);
        Assert.Equal(["main", "release/*", "!release/old"], push.Branches);
        Assert.Equal("Europe/Berlin", Assert.IsType<ScheduleTrigger>(definition.Triggers[1]).TimeZone);
        Assert.IsType<ManualTrigger>(definition.Triggers[2]);
        Assert.Equal("deploy-${{ parameters.env }}", definition.Concurrency!.Group);
        Assert.Equal(ParameterType.Choice, definition.Parameters[0].Type);
        Assert.Equal(3, definition.Parameters[1].Default!.Value.GetDouble());

        var build = Assert.IsType<ScriptStep>(definition.Steps[0]);
        Assert.Equal(TimeSpan.FromMinutes(10), build.Timeout);
        Assert.Equal(new RetryPolicy { Limit = 2, Backoff = TimeSpan.FromSeconds(2), Exponential = true, On = build.Retries!.On }, build.Retries);
        Assert.Equal("${{ parameters.env }}", build.Env["TARGET"]);
        Assert.Equal(202, Assert.IsType<HttpStep>(definition.Steps[1]).ExpectStatus);
        var gate = Assert.IsType<ApprovalStep>(definition.Steps[2]);
        Assert.Equal(2, gate.MinApprovers);
        Assert.Equal(TimeSpan.FromHours(4), gate.Timeout);
        var canary = Assert.IsType<CanaryStrategy>(Assert.IsType<DeployStep>(definition.Steps[3]).Strategy);
        Assert.Equal([10, 50, 100], canary.Steps);
        Assert.Equal(TimeSpan.FromMinutes(5), canary.Pause);
        Assert.Equal("pipeline.custom.releases", Assert.IsType<PublishStep>(definition.Steps[4]).Topic);
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<WaitStep>(definition.Steps[5]).Duration);
        Assert.Equal("cleanup", Assert.Single(definition.Finally).Id);
    }

    [Fact]
    public void Stored_json_reads_back_as_the_same_definition()
    {
        var definition = PipelineParser.ParseYaml(Samples.Yaml).Definition!;
        var stored = PipelineJson.Serialize(definition);
        Assert.Contains("\"kind\":\"script\"", stored, StringComparison.Ordinal);
        Assert.Contains("\"timeout\":\"10m\"", stored, StringComparison.Ordinal);

        // Both ways back: System.Text.Json with the polymorphic records, and the document parser.
        Assert.Equal(stored, PipelineJson.Serialize(PipelineJson.Deserialize(stored)!));
        var reparsed = PipelineParser.ParseJson(stored);
        Assert.Empty(reparsed.Problems);
        Assert.Equal(stored, PipelineJson.Serialize(reparsed.Definition!));
    }

    [Fact]
    public void Shape_problems_carry_paths_and_yaml_lines()
    {
        var result = PipelineParser.ParseYaml("""
            name: p
            steps:
              - id: build
                kind: scirpt
                run: make
              - id: test
                kind: script
                run: make test
                timeout: soon
                retries: {limit: many}
                colour: blue
            """);
        Assert.Null(result.Definition);
        Assert.Equal(
            [
                ("steps[0].kind", "unknown step kind 'scirpt' (expected script, http, approval, deploy, publish, wait)", 4),
                ("steps[1].timeout", "expected a duration such as \"30s\", \"5m\" or \"1h30m\" but found the string 'soon'", 9),
                ("steps[1].retries.limit", "expected a whole number but found the string 'many'", 10),
                ("steps[1].colour", "unknown field 'colour'", 11),
            ],
            result.Problems.Select(p => (p.Path, p.Message, p.Line ?? 0)));
    }

    [Fact]
    public void Json_problems_carry_lines_too()
    {
        var result = PipelineParser.ParseJson("""
            {
              "name": "p",
              "steps": [
                { "id": "a", "kind": "wait", "duration": "forever" }
              ]
            }
            """);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("steps[0].duration", problem.Path);
        Assert.Equal(4, problem.Line);
    }

    [Fact]
    public void Semantic_problems_borrow_the_line_of_their_path()
    {
        var result = PipelineParser.ParseYaml("""
            name: p
            steps:
              - id: build
                kind: script
                run: make
              - id: test
                kind: script
                run: make test
                needs: [bild]
            """);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("steps[1].needs[0]: unknown step 'bild' (line 9)", problem.ToString());
    }

    [Fact]
    public void An_inline_http_body_becomes_its_json_text_in_yaml_and_json_alike()
    {
        var yaml = PipelineParser.ParseYaml("""
            name: p
            steps:
              - id: call
                kind: http
                method: POST
                url: https://example/hook
                body: {version: "${{ parameters.v }}", prod: "${{ parameters.v == 'x' }}", count: 2, force: true, tags: [a, b]}
            parameters:
              v: {type: string, default: "1"}
            """);
        var json = PipelineParser.ParseJson("""
            {"name": "p", "parameters": {"v": {"type": "string", "default": "1"}},
             "steps": [{"id": "call", "kind": "http", "method": "POST", "url": "https://example/hook",
                        "body": {"version": "${{ parameters.v }}", "prod": "${{ parameters.v == 'x' }}", "count": 2, "force": true, "tags": ["a", "b"]}}]}
            """);
        Assert.Empty(yaml.Problems);
        Assert.Equal("{\"version\":\"${{ parameters.v }}\",\"prod\":\"${{ parameters.v == 'x' }}\",\"count\":2,\"force\":true,\"tags\":[\"a\",\"b\"]}", Assert.IsType<HttpStep>(yaml.Definition!.Steps[0]).Body);
        Assert.Equal(PipelineJson.Serialize(yaml.Definition), PipelineJson.Serialize(json.Definition!));
    }

    [Fact]
    public void Malformed_documents_are_one_problem_with_a_position()
    {
        var yaml = PipelineParser.ParseYaml("name: p\nsteps: [\n");
        Assert.Equal("$", Assert.Single(yaml.Problems).Path);
        Assert.NotNull(yaml.Problems[0].Line);

        var json = PipelineParser.ParseJson("{\n  \"name\": \"p\",\n  \"steps\": [\n}");
        Assert.Equal("$", Assert.Single(json.Problems).Path);
        Assert.Equal(4, json.Problems[0].Line);
    }

    [Theory]
    [InlineData("500ms", 0, 0, 0, 500)]
    [InlineData("30s", 0, 0, 30, 0)]
    [InlineData("5m", 0, 5, 0, 0)]
    [InlineData("1h30m", 1, 30, 0, 0)]
    public void Durations_read_the_usual_units(string text, int hours, int minutes, int seconds, int milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(new TimeSpan(0, hours, minutes, seconds, milliseconds), duration);
        Assert.Equal(text, Durations.Format(duration));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 minutes")]
    [InlineData("m5")]
    public void Durations_refuse_anything_else(string text) => Assert.False(Durations.TryParse(text, out _));
}
