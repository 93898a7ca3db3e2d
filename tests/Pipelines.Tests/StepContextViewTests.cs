using System.Collections.Immutable;

namespace Pipelines.Tests;

public sealed class StepContextViewTests
{
    private static readonly ImmutableDictionary<string, StepRun> Steps = ImmutableDictionary<string, StepRun>.Empty
        .Add("build", new StepRun { StepId = "build", Status = StepStatus.Succeeded, Outputs = ImmutableDictionary<string, string>.Empty.Add("version", "1.2.3") })
        .Add("gate", new StepRun { StepId = "gate", Status = StepStatus.AwaitingApproval })
        .Add("deploy", new StepRun { StepId = "deploy" });

    [Fact]
    public void Looks_up_each_step_as_the_expression_language_sees_it()
    {
        var view = new StepContextView(Steps);

        Assert.Equal(3, view.Count);
        Assert.Equal("succeeded", view["build"].Status);
        Assert.Equal("1.2.3", view["build"].Outputs["version"]);
        Assert.True(view.TryGetValue("gate", out var gate));
        Assert.Equal(StepStatus.AwaitingApproval.ToExpressionText(), gate.Status);
        Assert.Empty(view["deploy"].Outputs);
        Assert.Equal("waiting", view["deploy"].Status);
    }

    [Fact]
    public void An_unknown_step_is_absent_not_an_error_for_lookups()
    {
        var view = new StepContextView(Steps);

        Assert.False(view.ContainsKey("bild"));
        Assert.False(view.TryGetValue("bild", out var missing));
        Assert.Null(missing);
        Assert.Null(view.GetValueOrDefault("bild"));
        Assert.Throws<KeyNotFoundException>(() => view["bild"]);
        Assert.False(view.ContainsKey("BUILD")); // step ids are case-sensitive, as before
    }

    [Fact]
    public void Enumerates_every_step_with_its_context()
    {
        var view = new StepContextView(Steps);

        Assert.Equal(["build", "deploy", "gate"], view.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["awaiting_approval", "succeeded", "waiting"], view.Values.Select(v => v.Status).Order(StringComparer.Ordinal));
        Assert.Equal(view.Keys, view.Select(p => p.Key));
        Assert.All(view, p => Assert.Equal(Steps[p.Key].Status.ToExpressionText(), p.Value.Status));
    }

    [Theory]
    [InlineData("steps.build.status == 'succeeded'", true)]
    [InlineData("steps.build.outputs.version == '1.2.3'", true)]
    [InlineData("steps.gate.status == 'awaiting_approval'", true)]
    [InlineData("steps.missing.status == null", true)]
    [InlineData("steps.build.outputs.missing == null", true)]
    public void Expressions_read_steps_through_it(string text, bool expected)
    {
        var context = new ExpressionContext { Steps = new StepContextView(Steps) };

        Assert.Equal(expected, ExpressionEvaluator.IsTruthy(ExpressionEvaluator.Evaluate(ExpressionParser.Parse(text), context)));
    }
}
