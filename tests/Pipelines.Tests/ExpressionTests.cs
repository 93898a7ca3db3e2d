namespace Pipelines.Tests;

public sealed class ExpressionTests
{
    private static readonly ExpressionContext Context = new()
    {
        Parameters = new Dictionary<string, object?> { ["env"] = "prod", ["replicas"] = 3, ["dryRun"] = false },
        Trigger = new Dictionary<string, object?> { ["ref"] = "refs/heads/release/1.2" },
        Steps = new Dictionary<string, StepContext>
        {
            ["build"] = new("succeeded", new Dictionary<string, string> { ["version"] = "1.2.3" }),
        },
    };

    private static object? Eval(string text, ExpressionContext? context = null) => ExpressionEvaluator.Evaluate(ExpressionParser.Parse(text), context ?? Context);

    [Theory]
    [InlineData("true || false && false", true)] // && binds tighter than ||
    [InlineData("(true || false) && false", false)]
    [InlineData("!false && true", true)]
    [InlineData("!(true && false)", true)]
    [InlineData("1 < 2 == true", true)] // comparison binds tighter than equality
    [InlineData("parameters.env == 'prod' && parameters.replicas >= 3", true)]
    [InlineData("parameters.env == 'PROD'", true)] // strings compare ignoring case, as in GitHub Actions
    [InlineData("parameters.replicas == '3'", true)] // mixed types compare as numbers
    [InlineData("parameters.dryRun == false", true)]
    [InlineData("parameters.missing == null", true)]
    [InlineData("steps.build.status == 'succeeded'", true)]
    [InlineData("steps.build.outputs.version == '1.2.3'", true)]
    [InlineData("startsWith(trigger.ref, 'refs/heads/release/')", true)]
    [InlineData("contains(steps.build.outputs.version, '.2.')", true)]
    [InlineData("endsWith('abc', 'bc')", true)]
    [InlineData("'it''s' == 'it''s'", true)]
    [InlineData("-1 < 0", true)]
    [InlineData("'abc' == 1", false)] // NaN equals nothing
    [InlineData("'abc' != 1", true)]
    public void Evaluates_with_precedence_and_github_comparison_rules(string text, bool expected) =>
        Assert.Equal(expected, ExpressionEvaluator.IsTruthy(Eval(text)));

    [Fact]
    public void Or_returns_an_operand_so_templates_can_default() =>
        Assert.Equal("fallback", Eval("parameters.missing || 'fallback'"));

    [Theory]
    [InlineData("success()", true, false, false, true)]
    [InlineData("success()", false, false, false, false)]
    [InlineData("success()", true, false, true, false)] // cancelled runs are not successful
    [InlineData("failure()", false, true, false, true)]
    [InlineData("always()", false, true, true, true)]
    [InlineData("cancelled()", true, false, true, true)]
    [InlineData("!cancelled()", true, false, false, true)]
    public void Status_functions_read_the_context(string text, bool needsSucceeded, bool upstreamFailed, bool cancelled, bool expected)
    {
        var context = new ExpressionContext { NeedsSucceeded = needsSucceeded, UpstreamFailed = upstreamFailed, Cancelled = cancelled };
        Assert.Equal(expected, ExpressionEvaluator.IsTruthy(Eval(text, context)));
    }

    [Theory]
    [InlineData("parameters.x; rm -rf /", "unexpected character ';'", 13)]
    [InlineData("parameters.x && `rm -rf /`", "unexpected character '`'", 17)]
    [InlineData("$(whoami)", "unexpected character '$'", 1)]
    [InlineData("parameters.x = 'a'", "unexpected character '=' (use '==' to compare)", 14)]
    [InlineData("system('ls')", "unknown function 'system'", 1)]
    [InlineData("env.HOME", "unknown name 'env'", 1)]
    [InlineData("(true", "expected ')' but found the end of the expression", 6)]
    [InlineData("'open", "unterminated string", 1)]
    [InlineData("true false", "unexpected 'false' after the end of the expression", 6)]
    [InlineData("contains('a')", "function 'contains' takes 2 argument(s) but was given 1", 1)]
    [InlineData("parameters.", "expected a name after '.' but found 'end of expression'", 12)]
    [InlineData("", "empty expression", 1)]
    [InlineData("\"x\" == 'x'", "unexpected character '\"' (strings use single quotes)", 1)]
    public void Rejects_anything_outside_the_grammar_with_the_column(string text, string reason, int column)
    {
        var error = Assert.Throws<ExpressionException>(() => ExpressionParser.Parse(text));
        Assert.StartsWith(reason, error.Reason, StringComparison.Ordinal);
        Assert.Equal(column, error.Column);
        Assert.EndsWith($"at column {column}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parses_into_an_ast_of_records_with_columns()
    {
        var expr = ExpressionParser.Parse("!failure() || parameters.env == 'prod'");
        var or = Assert.IsType<BinaryExpr>(expr);
        Assert.Equal(BinaryOperator.Or, or.Operator);
        Assert.IsType<CallExpr>(Assert.IsType<NotExpr>(or.Left).Operand);
        var equal = Assert.IsType<BinaryExpr>(or.Right);
        Assert.Equal(["parameters", "env"], Assert.IsType<ContextExpr>(equal.Left).Path);
        Assert.Equal(15, equal.Left.Column);
    }

    [Fact]
    public void Templates_interpolate_expressions_and_leave_the_rest()
    {
        Assert.Equal("deploy-prod-1.2.3", TemplateString.Render("deploy-${{ parameters.env }}-${{ steps.build.outputs.version }}", Context));
        Assert.Equal("replicas=3 dry=false", TemplateString.Render("replicas=${{parameters.replicas}} dry=${{ parameters.dryRun }}", Context));
        Assert.Equal("no holes", TemplateString.Render("no holes", Context));
    }

    [Fact]
    public void Template_errors_count_columns_from_the_start_of_the_string()
    {
        var error = Assert.Throws<ExpressionException>(() => TemplateString.Parse("deploy-${{ parameters.env; }}"));
        Assert.Equal(26, error.Column);
        var unclosed = Assert.Throws<ExpressionException>(() => TemplateString.Parse("x-${{ parameters.env"));
        Assert.Equal(3, unclosed.Column);
    }
}
