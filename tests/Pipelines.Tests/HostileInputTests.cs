namespace Pipelines.Tests;

/// <summary>Documents come from users through an API: nothing in them may crash or exhaust the service.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public void Deeply_nested_expressions_are_a_parse_error_not_a_stack_overflow()
    {
        var error = Assert.Throws<ExpressionException>(() => ExpressionParser.Parse(new string('(', 1_000) + "true" + new string(')', 1_000)));
        Assert.Equal("expression nested deeper than 64 levels at column 65", error.Message);
        Assert.Throws<ExpressionException>(() => ExpressionParser.Parse(new string('!', 1_000) + "true"));
        Assert.True(ExpressionEvaluator.EvaluateCondition(new string('(', 60) + "true" + new string(')', 60), ExpressionContext.Empty));
    }

    [Fact]
    public void Overlong_expressions_are_refused() =>
        Assert.StartsWith("expression longer than 4096 characters", Assert.Throws<ExpressionException>(() => ExpressionParser.Parse(string.Join(" || ", Enumerable.Repeat("true", 2000)))).Message, StringComparison.Ordinal);

    [Fact]
    public void A_yaml_alias_bomb_is_refused()
    {
        var yaml = "name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
        for (var level = 'b'; level <= 'j'; level++)
        {
            var previous = (char)(level - 1);
            yaml += $"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n";
        }

        var result = PipelineParser.ParseYaml(yaml);
        var problem = Assert.Single(result.Problems);
        Assert.StartsWith("document too large or too deeply nested", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100_000, '[', ']')]
    [InlineData(100_000, '{', '}')]
    [InlineData(65, '[', ']')]
    public void Deep_yaml_is_a_problem_not_a_stack_overflow_that_ends_the_process(int depth, char open, char close)
    {
        // 100,000 levels in 200 KB once overflowed the stack while YamlDotNet built its node tree, killing the host.
        var inner = open == '{' ? "a: " : string.Empty;
        var yaml = "name: deep\nsteps: " + string.Concat(Enumerable.Repeat(open + inner, depth)) + new string(close, depth) + "\n";

        var problem = Assert.Single(PipelineParser.ParseYaml(yaml).Problems);

        Assert.StartsWith("document too deeply nested", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_problems_in_yaml_and_json()
    {
        var yaml = PipelineParser.ParseYaml("name: a\nname: b\n");
        Assert.Equal("$", Assert.Single(yaml.Problems).Path);
        Assert.Equal(2, yaml.Problems[0].Line);

        var json = PipelineParser.ParseJson("{\"name\": \"a\",\n \"name\": \"b\"}");
        Assert.Equal("$: duplicate key 'name' (line 2)", Assert.Single(json.Problems).ToString());
    }

    [Fact]
    public void Deep_json_is_refused()
    {
        var json = "{\"name\": " + new string('[', 1000) + new string(']', 1000) + "}";
        Assert.Equal("$", Assert.Single(PipelineParser.ParseJson(json).Problems).Path);
    }

    [Fact]
    public void A_cron_expression_that_never_fires_is_a_problem() =>
        Assert.Equal("the cron expression never fires (no date matches it)", PipelineValidator.CronProblem("0 0 0 31 2 *"));

    [Fact]
    public void Unvalidated_conditions_fail_the_step_with_the_reason_instead_of_throwing()
    {
        var definition = Build.Pipeline([Build.Script("a") with { When = "parameters.x; rm -rf /" }]);
        var run = new RunDriver(definition);
        run.Start();
        Assert.Equal(StepStatus.Failed, run.Status("a"));
        Assert.Equal(RunStatus.Failed, run.State.Status);
        Assert.Contains("unexpected character ';' at column 13", run.State.Steps["a"].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../r-0001x")] // a sibling that starts with the run's id: once let through by a plain prefix test
    [InlineData("../r-0001x/deeper")]
    [InlineData("..")]
    [InlineData("../other")]
    [InlineData("/tmp")]
    [InlineData("a/../../r-0001x")]
    public void A_working_directory_outside_the_runs_own_is_refused(string workingDirectory)
    {
        var run = Path.Combine(Path.GetTempPath(), "work", "runs", "r-0001");
        Assert.Null(ScriptStep.ResolveWorkingDirectory(run, workingDirectory));
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData(".", "")]
    [InlineData("src", "src")]
    [InlineData("src/../build/", "build")]
    [InlineData("./a/b", "a/b")]
    public void A_working_directory_inside_the_runs_own_is_resolved(string? workingDirectory, string expected)
    {
        var run = Path.Combine(Path.GetTempPath(), "work", "runs", "r-0001");
        Assert.Equal(Path.TrimEndingDirectorySeparator(Path.Combine(run, expected)), ScriptStep.ResolveWorkingDirectory(run + "/", workingDirectory));
    }
}
