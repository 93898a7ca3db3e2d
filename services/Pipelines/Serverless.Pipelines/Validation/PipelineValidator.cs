using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using NCrontab;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Graphs;

namespace Serverless.Pipelines.Validation;

/// <summary>
/// The save-time checks of a definition: every problem is reported with its path, none stops the others, so
/// the author fixes a document in one round trip.
/// </summary>
public static partial class PipelineValidator
{
    private static readonly string[] HttpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// <param name="definition">The document read.</param>
    /// <param name="publishTopics">Which topics publish steps may post to; <see cref="PublishTopicPolicy.Default"/> when null.</param>
    public static IReadOnlyList<PipelineProblem> Validate(PipelineDefinition definition, PublishTopicPolicy? publishTopics = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        publishTopics ??= PublishTopicPolicy.Default;
        var problems = new List<PipelineProblem>();
        if (string.IsNullOrWhiteSpace(definition.Name))
        {
            problems.Add(new("name", "required"));
        }

        ValidateTriggers(definition, problems);
        ValidateParameters(definition, problems);
        var located = definition.Steps.Select((s, i) => (Step: s, Path: $"steps[{i}]", IsFinally: false))
            .Concat(definition.Finally.Select((s, i) => (Step: s, Path: $"finally[{i}]", IsFinally: true)))
            .ToList();
        ValidateIdsAndNeeds(located, problems);
        ValidateCycles(definition, located, problems);
        var upstream = StepGraph.UpstreamClosures(definition);
        foreach (var (step, path, isFinally) in located)
        {
            ValidateStep(definition, step, path, isFinally, upstream, publishTopics, problems);
        }

        if (definition.Concurrency is { } concurrency)
        {
            if (string.IsNullOrWhiteSpace(concurrency.Group))
            {
                problems.Add(new("concurrency.group", "required"));
            }
            else
            {
                CheckTemplate(definition, concurrency.Group, "concurrency.group", step: null, upstream, problems);
            }
        }

        return problems;
    }

    private static void ValidateTriggers(PipelineDefinition definition, List<PipelineProblem> problems)
    {
        for (var i = 0; i < definition.Triggers.Count; i++)
        {
            var path = $"triggers[{i}]";
            switch (definition.Triggers[i])
            {
                case ScheduleTrigger schedule:
                    if (CronProblem(schedule.Cron) is { } cronProblem)
                    {
                        problems.Add(new($"{path}.cron", cronProblem));
                    }

                    if (!IsKnownTimeZone(schedule.TimeZone))
                    {
                        problems.Add(new($"{path}.timeZone", $"unknown time zone '{schedule.TimeZone}' (give an IANA id such as \"Europe/Berlin\", or \"UTC\")"));
                    }

                    break;
                case PushTrigger push:
                    for (var b = 0; b < push.Branches.Count; b++)
                    {
                        if (push.Branches[b].TrimStart('!').Length == 0)
                        {
                            problems.Add(new($"{path}.branches[{b}]", "empty pattern"));
                        }
                    }

                    for (var p = 0; p < push.Paths.Count; p++)
                    {
                        if (push.Paths[p].TrimStart('!').Length == 0)
                        {
                            problems.Add(new($"{path}.paths[{p}]", "empty pattern"));
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>Why a cron text is not a usable 6-field expression with seconds, or null when it is.</summary>
    public static string? CronProblem(string cron)
    {
        var fields = (cron ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
        {
            return $"expected 6 fields (\"sec min hour day month weekday\", e.g. \"0 */5 * * * *\") but found {fields.Length}";
        }

        var options = new CrontabSchedule.ParseOptions { IncludingSeconds = true };
        var (schedule, error) = CrontabSchedule.TryParse<(CrontabSchedule?, string?)>(string.Join(' ', fields), options, parsed => (parsed, null), failure => (null, failure().Message));
        if (schedule is null)
        {
            return $"invalid cron expression: {error}";
        }

        // As the shared CronSchedule does: an expression with no date in 28 years (e.g. 31 February) never fires.
        var probe = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var limit = probe.AddYears(28);
        if (schedule.GetNextOccurrence(probe, limit) >= limit)
        {
            return "the cron expression never fires (no date matches it)";
        }

        // Occurrences closer together than the platform timer's period could not all start a run (and each run
        // would look past-due): look for such a pair over a week and a day, or the first 20,000 occurrences.
        DateTime? previous = null;
        var seen = 0;
        foreach (var occurrence in schedule.GetNextOccurrences(probe, probe.AddDays(8)))
        {
            if (previous is { } before && occurrence - before < MinimumScheduleInterval)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"fires {(occurrence - before).TotalSeconds:0.##}s apart (e.g. at {before:HH:mm:ss} and {occurrence:HH:mm:ss}); a schedule may fire at most once every {MinimumScheduleInterval.TotalSeconds:0}s, the period of the platform's schedule timer");
            }

            previous = occurrence;
            if (++seen >= 20_000)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>The shortest interval between two occurrences of a schedule: the platform's schedule timer checks every 5 s.</summary>
    public static readonly TimeSpan MinimumScheduleInterval = TimeSpan.FromSeconds(5);

    public static bool IsKnownTimeZone(string? timeZone)
    {
        if (string.IsNullOrWhiteSpace(timeZone))
        {
            return false;
        }

        if (string.Equals(timeZone, "UTC", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(timeZone);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }

    private static void ValidateParameters(PipelineDefinition definition, List<PipelineProblem> problems)
    {
        foreach (var parameter in definition.Parameters)
        {
            var path = $"parameters.{parameter.Name}";
            if (!IdentifierPattern().IsMatch(parameter.Name))
            {
                problems.Add(new(path, $"parameter name '{parameter.Name}' must start with a letter and hold only letters, digits, '_' and '-'"));
            }

            if (parameter.Type == ParameterType.Choice && parameter.Options.Count == 0)
            {
                problems.Add(new($"{path}.options", "a choice parameter needs options"));
            }

            if (parameter.Type != ParameterType.Choice && parameter.Options.Count > 0)
            {
                problems.Add(new($"{path}.options", "only choice parameters have options"));
            }

            if (parameter.Default is { } value && DefaultProblem(parameter, value) is { } problem)
            {
                problems.Add(new($"{path}.default", problem));
            }
        }
    }

    private static string? DefaultProblem(ParameterSpec parameter, JsonElement value) => parameter.Type switch
    {
        ParameterType.Number when value.ValueKind != JsonValueKind.Number => $"expected a number but found {Describe(value)}",
        ParameterType.Flag when value.ValueKind is not (JsonValueKind.True or JsonValueKind.False) => $"expected true or false but found {Describe(value)}",
        ParameterType.Text when value.ValueKind != JsonValueKind.String => $"expected a string but found {Describe(value)}",
        ParameterType.Choice when value.ValueKind != JsonValueKind.String || !parameter.Options.Contains(value.GetString()) =>
            $"{Describe(value)} is not one of the options ({string.Join(", ", parameter.Options)})",
        _ => null,
    };

    private static string Describe(JsonElement value) => value.ValueKind == JsonValueKind.String ? $"'{value.GetString()}'" : value.GetRawText();

    private static void ValidateIdsAndNeeds(List<(StepSpec Step, string Path, bool IsFinally)> located, List<PipelineProblem> problems)
    {
        var firstPath = new Dictionary<string, string>(StringComparer.Ordinal);
        var kinds = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var (step, path, isFinally) in located)
        {
            if (string.IsNullOrEmpty(step.Id))
            {
                continue;
            }

            if (!IdentifierPattern().IsMatch(step.Id))
            {
                problems.Add(new($"{path}.id", $"step id '{step.Id}' must start with a letter and hold only letters, digits, '_' and '-'"));
            }

            if (!firstPath.TryAdd(step.Id, path))
            {
                problems.Add(new($"{path}.id", $"duplicate step id '{step.Id}' (first used at {firstPath[step.Id]})"));
            }
            else
            {
                kinds[step.Id] = isFinally;
            }
        }

        foreach (var (step, path, isFinally) in located)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var n = 0; n < step.Needs.Count; n++)
            {
                var need = step.Needs[n];
                var needPath = $"{path}.needs[{n}]";
                if (!kinds.TryGetValue(need, out var needIsFinally))
                {
                    problems.Add(new(needPath, $"unknown step '{need}'"));
                }
                else if (!seen.Add(need))
                {
                    problems.Add(new(needPath, $"'{need}' is listed twice"));
                }
                else if (!isFinally && needIsFinally)
                {
                    problems.Add(new(needPath, $"'{need}' is a finally step; normal steps cannot wait for finally steps"));
                }
                else if (isFinally && !needIsFinally)
                {
                    // Finally steps start once every normal step is terminal, so waiting for one says nothing.
                    problems.Add(new(needPath, $"'{need}' is a normal step; finally steps run after all normal steps and may only need other finally steps"));
                }
            }
        }
    }

    private static void ValidateCycles(PipelineDefinition definition, List<(StepSpec Step, string Path, bool IsFinally)> located, List<PipelineProblem> problems)
    {
        foreach (var cycle in StepGraph.FindCycles(definition))
        {
            var path = located.First(l => l.Step.Id == cycle[0]).Path;
            problems.Add(new($"{path}.needs", $"cycle {string.Join(" -> ", cycle.Append(cycle[0]))}"));
        }
    }

    private static void ValidateStep(PipelineDefinition definition, StepSpec step, string path, bool isFinally, IReadOnlyDictionary<string, IReadOnlySet<string>> upstream, PublishTopicPolicy publishTopics, List<PipelineProblem> problems)
    {
        if (step.When is { } when)
        {
            CheckExpression(definition, when, $"{path}.when", step, upstream, problems, isTemplate: false);
        }

        if (step.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            problems.Add(new($"{path}.timeout", "must be longer than 0s"));
        }

        if (step.Retries is { } retries)
        {
            if (retries.Limit is < 0 or > 20)
            {
                problems.Add(new($"{path}.retries.limit", "must be between 0 and 20"));
            }

            if (retries.Backoff < TimeSpan.Zero)
            {
                problems.Add(new($"{path}.retries.backoff", "must not be negative"));
            }
        }

        for (var o = 0; o < step.Outputs.Count; o++)
        {
            if (!IdentifierPattern().IsMatch(step.Outputs[o]))
            {
                problems.Add(new($"{path}.outputs[{o}]", $"output name '{step.Outputs[o]}' must start with a letter and hold only letters, digits, '_' and '-'"));
            }
        }

        foreach (var (relative, template) in step.Templates())
        {
            CheckTemplate(definition, template, $"{path}.{relative}", step, upstream, problems);
        }

        switch (step)
        {
            case ScriptStep script:
                if (string.IsNullOrWhiteSpace(script.Run))
                {
                    problems.Add(new($"{path}.run", "required"));
                }

                if (script.LogLimitBytes <= 0)
                {
                    problems.Add(new($"{path}.logLimitBytes", "must be positive"));
                }

                break;
            case HttpStep http:
                if (!HttpMethods.Contains(http.Method, StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add(new($"{path}.method", $"unknown HTTP method '{http.Method}' (expected {string.Join(", ", HttpMethods)})"));
                }

                if (http.ExpectStatus is < 100 or > 599)
                {
                    problems.Add(new($"{path}.expectStatus", "must be an HTTP status between 100 and 599"));
                }

                break;
            case ApprovalStep approval:
                if (approval.Approvers.Count == 0)
                {
                    problems.Add(new($"{path}.approvers", "name at least one approver"));
                }
                else if (approval.MinApprovers < 1 || approval.MinApprovers > approval.Approvers.Distinct(StringComparer.Ordinal).Count())
                {
                    problems.Add(new($"{path}.minApprovers", $"must be between 1 and the number of approvers ({approval.Approvers.Distinct(StringComparer.Ordinal).Count()})"));
                }

                if (approval.Retries is not null)
                {
                    problems.Add(new($"{path}.retries", "an approval cannot be retried"));
                }

                break;
            case DeployStep deploy:
                ValidateStrategy(deploy.Strategy, $"{path}.strategy", problems);
                break;
            case PublishStep publish when publishTopics.Problem(publish.Topic) is { } topicProblem:
                problems.Add(new($"{path}.topic", topicProblem));
                break;
            case WaitStep wait:
                if (wait.Duration <= TimeSpan.Zero)
                {
                    problems.Add(new($"{path}.duration", "must be longer than 0s"));
                }

                // A wait is a timer of the run, not an attempt: there is nothing to time out or retry.
                if (wait.Timeout is not null)
                {
                    problems.Add(new($"{path}.timeout", "a wait step has no timeout (its duration is how long it waits)"));
                }

                if (wait.Retries is not null)
                {
                    problems.Add(new($"{path}.retries", "a wait step cannot be retried"));
                }

                break;
        }
    }

    private static void ValidateStrategy(DeployStrategy strategy, string path, List<PipelineProblem> problems)
    {
        switch (strategy)
        {
            case RollingStrategy rolling:
                if (rolling.Instances < 1)
                {
                    problems.Add(new($"{path}.instances", "must be at least 1"));
                }

                if (rolling.BatchSize < 1 || rolling.BatchSize > Math.Max(rolling.Instances, 1))
                {
                    problems.Add(new($"{path}.batchSize", $"must be between 1 and instances ({rolling.Instances})"));
                }

                break;
            case CanaryStrategy canary:
                if (canary.Steps.Count == 0 || canary.Steps[^1] != 100)
                {
                    problems.Add(new($"{path}.steps", "the last step must be 100"));
                }

                for (var i = 0; i < canary.Steps.Count; i++)
                {
                    if (canary.Steps[i] is < 1 or > 100 || (i > 0 && canary.Steps[i] <= canary.Steps[i - 1]))
                    {
                        problems.Add(new($"{path}.steps[{i}]", "percentages must rise, between 1 and 100"));
                    }
                }

                if (canary.Approval && canary.Approvers.Count == 0)
                {
                    problems.Add(new($"{path}.approvers", "an approval gate needs approvers"));
                }

                if (canary.Pause is { } pause && pause <= TimeSpan.Zero)
                {
                    problems.Add(new($"{path}.pause", "must be longer than 0s"));
                }

                break;
        }
    }

    private static void CheckTemplate(PipelineDefinition definition, string template, string path, StepSpec? step, IReadOnlyDictionary<string, IReadOnlySet<string>> upstream, List<PipelineProblem> problems) =>
        CheckExpression(definition, template, path, step, upstream, problems, isTemplate: true);

    private static void CheckExpression(PipelineDefinition definition, string text, string path, StepSpec? step, IReadOnlyDictionary<string, IReadOnlySet<string>> upstream, List<PipelineProblem> problems, bool isTemplate)
    {
        IEnumerable<Expr> roots;
        try
        {
            roots = isTemplate ? TemplateString.Parse(text).Expressions.ToList() : [ExpressionParser.Parse(text)];
        }
        catch (ExpressionException ex)
        {
            problems.Add(new(path, ex.Message));
            return;
        }

        foreach (var reference in roots.SelectMany(Walk).OfType<ContextExpr>())
        {
            if (ReferenceProblem(definition, reference, step, upstream) is { } problem)
            {
                problems.Add(new(path, $"{problem} at column {reference.Column}"));
            }
        }
    }

    private static string? ReferenceProblem(PipelineDefinition definition, ContextExpr reference, StepSpec? step, IReadOnlyDictionary<string, IReadOnlySet<string>> upstream)
    {
        var keys = reference.Path;
        switch (keys[0])
        {
            case "parameters" when keys.Count > 1 && !definition.Parameters.Any(p => p.Name == keys[1]):
                return $"unknown parameter '{keys[1]}'";
            case "steps" when step is null:
                return "only parameters and trigger can be read here";
            case "run" when step is null:
                // The group is chosen before the run exists (ConcurrencyGroups.ResolveGroup has no run), and a group
                // keyed by the run itself would never hold two runs: refused rather than rendered empty.
                return "run is not known when the concurrency group is chosen (a group per run would never wait); only parameters and trigger can be read here";
            case "steps" when keys.Count > 1:
                var target = definition.FindStep(keys[1]);
                if (target is null)
                {
                    return $"unknown step '{keys[1]}'";
                }

                // A finally step sees every normal step (all are terminal when it starts) and its own upstream.
                var visible = upstream.GetValueOrDefault(step.Id)?.Contains(target.Id) == true
                    || (definition.IsFinally(step.Id) && !definition.IsFinally(target.Id));
                if (!visible)
                {
                    return $"step '{target.Id}' is not upstream of '{step.Id}' (add it to needs)";
                }

                if (keys.Count > 2 && keys[2] is not ("status" or "outputs"))
                {
                    return $"steps have status and outputs, not '{keys[2]}'";
                }

                if (keys.Count > 3 && keys[2] == "outputs" && !target.Outputs.Contains(keys[3]))
                {
                    return $"step '{target.Id}' does not declare the output '{keys[3]}'";
                }

                return null;
            default:
                return null;
        }
    }

    private static IEnumerable<Expr> Walk(Expr expr)
    {
        yield return expr;
        var children = expr switch
        {
            NotExpr not => [not.Operand],
            BinaryExpr binary => [binary.Left, binary.Right],
            CallExpr call => call.Arguments,
            _ => (IEnumerable<Expr>)[],
        };
        foreach (var child in children.SelectMany(Walk))
        {
            yield return child;
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();
}
