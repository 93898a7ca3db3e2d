using System.Text.Json;

namespace Pipelines.Tests;

/// <summary>Found by review: sub-millisecond durations stored as "" (unreadable), huge ones overflowed into 500s.</summary>
public sealed class DurationTests
{
    private static List<string> Problems(string field, string value) =>
        PipelineParser.ParseYaml($"name: p\nsteps:\n  - {{id: a, kind: script, run: x, {field}: '{value}'}}\n").Problems.Select(p => $"{p.Path}: {p.Message}").ToList();

    [Theory]
    [InlineData("0.0001s", "shorter than 1ms")]
    [InlineData("0.5ms", "shorter than 1ms")]
    [InlineData("1.9ms", "not a whole number of milliseconds")]
    [InlineData("1.0005s", "not a whole number of milliseconds")]
    [InlineData("99999999999999999d", "longer than the maximum of 30d")]
    [InlineData("99999999999999999999999999999999d", "longer than the maximum of 30d")]
    [InlineData("3000000d", "longer than the maximum of 30d")]
    [InlineData("50d", "longer than the maximum of 30d")]
    [InlineData("30d1ms", "longer than the maximum of 30d")]
    [InlineData("720h1s", "longer than the maximum of 30d")]
    public void Durations_that_cannot_be_stored_or_timed_are_refused_at_their_path(string value, string reason)
    {
        var problem = Assert.Single(Problems("timeout", value));
        Assert.StartsWith("steps[0].timeout: ", problem, StringComparison.Ordinal);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wait", "duration: 3000000d", "steps[0].duration")]
    [InlineData("approval", "approvers: [ana], timeout: 0.1ms", "steps[0].timeout")]
    [InlineData("script", "run: x, retries: {limit: 1, backoff: 40d}", "steps[0].retries.backoff")]
    public void Every_duration_field_is_bounded(string kind, string fields, string path)
    {
        var problems = PipelineParser.ParseYaml($"name: p\nsteps:\n  - {{id: a, kind: {kind}, {fields}}}\n").Problems;
        Assert.Contains(problems, p => p.Path == path);
    }

    [Theory]
    [InlineData("30d", 30 * 24 * 3600 * 1000L)]
    [InlineData("0.5s", 500L)]
    [InlineData("1ms", 1L)]
    [InlineData("1h30m", 90 * 60 * 1000L)]
    [InlineData("0s", 0L)]
    public void Durations_within_the_range_are_read(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Fact]
    public void Format_round_trips_every_duration_TryParse_accepts()
    {
        var random = new Random(4);
        var max = (long)Durations.Maximum.TotalMilliseconds;
        var samples = Enumerable.Range(0, 20_000).Select(_ => random.NextInt64(0, max + 1))
            .Concat([0, 1, 999, 1000, 59_999, 60_000, 3_599_999, 86_400_000, max - 1, max]);
        foreach (var milliseconds in samples)
        {
            var duration = TimeSpan.FromMilliseconds(milliseconds);
            var text = Durations.Format(duration);
            Assert.True(Durations.TryParse(text, out var read), $"{milliseconds} ms formatted as '{text}' is not readable");
            Assert.Equal(duration, read);
        }
    }

    [Fact]
    public void Random_duration_texts_are_either_refused_or_round_trip_through_Format()
    {
        var random = new Random(7);
        string[] units = ["ms", "s", "m", "h", "d"];
        for (var i = 0; i < 20_000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ =>
                (random.Next(3) == 0 ? (random.NextDouble() * 1000).ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : random.Next(0, 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture)) + units[random.Next(units.Length)]));
            if (Durations.TryParse(text, out var duration))
            {
                Assert.True(Durations.IsValid(duration), text);
                Assert.True(Durations.TryParse(Durations.Format(duration), out var again), text);
                Assert.Equal(duration, again);
            }
            else
            {
                Assert.NotNull(Durations.Problem(text));
            }
        }
    }

    [Fact]
    public void A_stored_definition_always_reads_back_and_an_unstorable_duration_is_never_written()
    {
        var parsed = PipelineParser.ParseYaml("name: p\nsteps:\n  - {id: a, kind: script, run: x, timeout: 0.5s}\n  - {id: w, kind: wait, duration: 30d}\n");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var json = JsonSerializer.Serialize(parsed.Definition, PipelineJson.Options);
        var back = JsonSerializer.Deserialize<PipelineDefinition>(json, PipelineJson.Options)!;
        Assert.Equal(TimeSpan.FromMilliseconds(500), back.Steps[0].Timeout);
        Assert.Equal(TimeSpan.FromDays(30), Assert.IsType<WaitStep>(back.Steps[1]).Duration);

        var unstorable = parsed.Definition! with { Steps = [new WaitStep { Id = "w", Duration = TimeSpan.FromTicks(1) }] };
        Assert.Throws<JsonException>(() => JsonSerializer.Serialize(unstorable, PipelineJson.Options));
    }

    [Fact]
    public void A_definition_stored_before_the_maximum_still_reads_and_writes_back()
    {
        // Runs keep a copy of their definition: one stored with a 50d timeout must not become unreadable on upgrade.
        var stored = JsonSerializer.Serialize(PipelineParser.ParseYaml("name: p\nsteps:\n  - {id: a, kind: script, run: x, timeout: 5d}\n").Definition, PipelineJson.Options)
            .Replace("\"5d\"", "\"3000000d\"", StringComparison.Ordinal);
        var read = JsonSerializer.Deserialize<PipelineDefinition>(stored, PipelineJson.Options)!;
        Assert.Equal(TimeSpan.FromDays(3_000_000), read.Steps[0].Timeout);
        Assert.Equal(stored, JsonSerializer.Serialize(read, PipelineJson.Options));
        Assert.False(Durations.TryParse("3000000d", out _)); // but a document saved now may not say so
    }
}
