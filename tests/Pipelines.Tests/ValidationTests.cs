namespace Pipelines.Tests;

public sealed class ValidationTests
{
    private static List<string> Problems(string yaml) => PipelineParser.ParseYaml(yaml).Problems.Select(p => $"{p.Path}: {p.Message}").ToList();

    [Fact]
    public void Reports_every_problem_with_its_path()
    {
        var problems = Problems("""
            name: broken
            triggers:
              - kind: schedule
                cron: "0 */5 * * *"
                timeZone: Mars/Olympus_Mons
              - kind: schedule
                cron: "0 0 25 * * *"
            concurrency:
              group: deploy-${{ parameters.envv }}
            parameters:
              env: {type: choice, options: [staging, prod], default: qa}
              count: {type: number, default: many}
              flag: {type: boolean, default: "yes"}
            steps:
              - id: build
                kind: script
                run: make
              - id: test
                kind: script
                run: make test
                needs: [build]
                when: parameters.x; rm -rf /
              - id: build
                kind: script
                run: make again
              - id: lint
                kind: script
                run: make lint
                needs: [bild]
              - id: ship
                kind: http
                url: https://example/${{ steps.lint.outputs.version }}
                method: YEET
            """);

        Assert.Equal(
            [
                "triggers[0].cron: expected 6 fields (\"sec min hour day month weekday\", e.g. \"0 */5 * * * *\") but found 5",
                "triggers[0].timeZone: unknown time zone 'Mars/Olympus_Mons' (give an IANA id such as \"Europe/Berlin\", or \"UTC\")",
                problems[2], // NCrontab's own wording for the bad hour; asserted below
                "parameters.env.default: 'qa' is not one of the options (staging, prod)",
                "parameters.count.default: expected a number but found 'many'",
                "parameters.flag.default: expected true or false but found 'yes'",
                "steps[2].id: duplicate step id 'build' (first used at steps[0])",
                "steps[3].needs[0]: unknown step 'bild'",
                "steps[1].when: unexpected character ';' at column 13",
                "steps[4].url: step 'lint' is not upstream of 'ship' (add it to needs) at column 21",
                "steps[4].method: unknown HTTP method 'YEET' (expected GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)",
                "concurrency.group: unknown parameter 'envv' at column 12",
            ],
            problems);
        Assert.StartsWith("triggers[1].cron: invalid cron expression:", problems[2], StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_field_is_reported_once()
    {
        Assert.Equal(["steps[0].run: required"], Problems("name: p\nsteps:\n  - {id: a, kind: script}\n"));
    }

    [Fact]
    public void Names_the_cycle()
    {
        var problems = Problems("""
            name: loop
            steps:
              - {id: a, kind: script, run: x}
              - {id: b, kind: script, run: x, needs: [a, d]}
              - {id: c, kind: script, run: x, needs: [b]}
              - {id: d, kind: script, run: x, needs: [c]}
              - {id: e, kind: script, run: x, needs: [e]}
            """);
        Assert.Equal(["steps[1].needs: cycle b -> d -> c -> b", "steps[4].needs: cycle e -> e"], problems);
    }

    [Fact]
    public void Unknown_kinds_do_not_hide_the_graph_problems_of_the_same_step()
    {
        var problems = Problems("""
            name: p
            steps:
              - {id: a, kind: shell, run: x, needs: [nope], timeout: 0s}
              - {id: b, kind: script, run: x, needs: [a]}
            """);
        Assert.Equal(
            [
                "steps[0].kind: unknown step kind 'shell' (expected script, http, approval, deploy, publish, wait)",
                "steps[0].needs[0]: unknown step 'nope'",
                "steps[0].timeout: must be longer than 0s",
            ],
            problems);
    }

    [Fact]
    public void Checks_step_kinds_finally_rules_and_output_references()
    {
        var problems = Problems("""
            name: p
            parameters:
              who: {type: string, required: true}
            steps:
              - id: build
                kind: script
                run: make
                outputs: [version]
              - id: gate
                kind: approval
                needs: [build]
                approvers: [ana]
                minApprovers: 2
              - id: deploy
                kind: deploy
                needs: [gate]
                version: ${{ steps.build.outputs.versoin }}
                target: {deployUrl: https://deploy.example}
                strategy: {kind: canary, steps: [50, 20], approval: true}
              - id: roll
                kind: deploy
                needs: [build]
                version: ${{ steps.build.outputs.version }}
                target: {kind: ftp, deployUrl: ftp://x}
                strategy: {kind: rolling, batchSize: 5, instances: 2}
              - id: early
                kind: script
                run: x
                needs: [notify]
            finally:
              - id: notify
                kind: publish
                topic: pipeline.custom.builds
                needs: [build]
                data: {who: "${{ parameters.who }}", version: "${{ steps.build.outputs.version }}"}
            """);
        Assert.Equal(
            [
                "steps[3].target.kind: unknown deploy target kind 'ftp' (expected http)",
                "steps[4].needs[0]: 'notify' is a finally step; normal steps cannot wait for finally steps",
                "finally[0].needs[0]: 'build' is a normal step; finally steps run after all normal steps and may only need other finally steps",
                "steps[1].minApprovers: must be between 1 and the number of approvers (1)",
                "steps[2].version: step 'build' does not declare the output 'versoin' at column 5",
                "steps[2].strategy.steps: the last step must be 100",
                "steps[2].strategy.steps[1]: percentages must rise, between 1 and 100",
                "steps[2].strategy.approvers: an approval gate needs approvers",
                "steps[3].strategy.batchSize: must be between 1 and instances (2)",
            ],
            problems);
    }

    [Fact]
    public void A_wait_step_refuses_timeout_and_retries_it_would_ignore()
    {
        var problems = Problems("""
            name: p
            steps:
              - id: pause
                kind: wait
                duration: 5m
                timeout: 1m
                retries: {limit: 2}
            """);
        Assert.Equal(
            [
                "steps[0].timeout: a wait step has no timeout (its duration is how long it waits)",
                "steps[0].retries: a wait step cannot be retried",
            ],
            problems);
    }

    [Fact]
    public void A_valid_document_has_no_problems()
    {
        var result = PipelineParser.ParseYaml(Samples.Yaml);
        Assert.True(result.IsValid);
    }
}

/// <summary>Found by review: run.* in a concurrency group was accepted and rendered empty, putting every run in one lane.</summary>
public sealed class ConcurrencyGroupValidationTests
{
    [Theory]
    [InlineData("per-run-${{ run.id }}")]
    [InlineData("${{ run.pipeline }}")]
    [InlineData("x-${{ parameters.env }}-${{ run }}")]
    public void Run_cannot_be_read_in_a_concurrency_group(string group)
    {
        var problem = Assert.Single(PipelineParser.ParseYaml($"name: p\nconcurrency: {{group: '{group}'}}\nparameters: {{env: {{type: string}}}}\nsteps:\n  - {{id: a, kind: script, run: x}}\n").Problems);
        Assert.Equal("concurrency.group", problem.Path);
        Assert.Contains("run is not known when the concurrency group is chosen", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_and_trigger_can_be_read_in_a_concurrency_group_and_run_in_steps()
    {
        var parsed = PipelineParser.ParseYaml("name: p\nconcurrency: {group: 'deploy-${{ parameters.env }}-${{ trigger.branch }}'}\nparameters: {env: {type: string}}\nsteps:\n  - {id: a, kind: script, run: x, env: {RUN: '${{ run.id }}'}}\n");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }
}

/// <summary>Found by review: sub-5-second schedules were accepted, dropped occurrences and marked every run past-due.</summary>
public sealed class ScheduleIntervalTests
{
    [Theory]
    [InlineData("* * * * * *", "1s apart")]
    [InlineData("*/2 * * * * *", "2s apart")]
    [InlineData("0,4 * * * * *", "4s apart")]
    [InlineData("0,58 * * * * *", "2s apart")] // across the minute: :58 and the next :00
    [InlineData("58,59 59 23 * * *", "1s apart")] // once a day, but two seconds in a row
    [InlineData("0,59 0,59 0,23 * * *", "1s apart")] // across midnight: 23:59:59 and the next day's 00:00:00
    public void Schedules_firing_more_often_than_every_5s_are_refused(string cron, string reason)
    {
        var problem = PipelineValidator.CronProblem(cron);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        Assert.Contains("at most once every 5s", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*/5 * * * * *")]
    [InlineData("0,5,10 * * * * *")]
    [InlineData("0,55 * * * * *")]
    [InlineData("0,58 0 * * * *")] // :00:58 and the next hour's :00:00 are far apart
    [InlineData("0 0 3 * * 1-5")]
    [InlineData("0 */1 * * * *")]
    public void Schedules_at_least_5s_apart_are_accepted(string cron) => Assert.Null(PipelineValidator.CronProblem(cron));

    [Fact]
    public void The_problem_is_reported_at_the_triggers_cron()
    {
        var problem = Assert.Single(PipelineParser.ParseYaml("name: p\ntriggers: [{kind: schedule, cron: '* * * * * *'}]\nsteps:\n  - {id: a, kind: script, run: x}\n").Problems);
        Assert.Equal("triggers[0].cron", problem.Path);
    }
}
