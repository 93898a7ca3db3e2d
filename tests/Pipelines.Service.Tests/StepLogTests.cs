using System.Text;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;
using Serverless.Testing;

namespace Pipelines.Service.Tests;

/// <summary>The log cap counts UTF-8 bytes and cuts on them, never inside a character.</summary>
public sealed class StepLogTests : IAsyncLifetime
{
    private TemporaryStateStore _state = null!;
    private StepLogStore _logs = null!;

    public async ValueTask InitializeAsync()
    {
        _state = await TemporaryStateStore.SqliteAsync();
        _logs = new StepLogStore(_state.Store);
    }

    public async ValueTask DisposeAsync() => await _state.DisposeAsync();

    private async Task<string> WriteAsync(long limit, params string[] writes)
    {
        var log = new StepLog(_logs, "r-1", "s", 1, limit);
        await using (log)
        {
            foreach (var text in writes)
            {
                log.Write(text);
            }
        }

        return (await _logs.ReadAsync("r-1", "s", 1, 0, CancellationToken.None)).Text;
    }

    private static string Kept(string text, long limit)
    {
        var note = $"\n[log truncated at {limit} bytes]\n";
        Assert.EndsWith(note, text, StringComparison.Ordinal);
        return text[..^note.Length];
    }

    [Theory]
    [InlineData("é", 1000)] // 2 bytes a character
    [InlineData("€", 1000)] // 3 bytes
    [InlineData("😀", 1000)] // 4 bytes, a surrogate pair
    [InlineData("😀", 1001)]
    [InlineData("a€😀", 999)]
    public async Task Multi_byte_output_is_cut_at_the_byte_limit_on_a_character_boundary(string unit, long limit)
    {
        var output = string.Concat(Enumerable.Repeat(unit, 2000));
        var kept = Kept(await WriteAsync(limit, "ok\n", output), limit);

        var bytes = Encoding.UTF8.GetByteCount(kept);
        Assert.InRange(bytes, limit - 3, limit);
        Assert.StartsWith(kept, "ok\n" + output, StringComparison.Ordinal);
        Assert.DoesNotContain('\uFFFD', kept);
    }

    [Fact]
    public async Task Output_within_the_limit_is_kept_whole_even_when_a_chunk_boundary_falls_inside_a_character()
    {
        // 8191 ASCII characters and then a surrogate pair: the first chunk of 8 Ki chars would end between its halves.
        var output = new string('x', 8191) + "😀 and more ü";
        Assert.Equal(output, await WriteAsync(1024 * 1024, output));
    }

    [Theory]
    [InlineData("abc", 0, "")]
    [InlineData("abc", 2, "ab")]
    [InlineData("aé", 2, "a")]
    [InlineData("a😀b", 4, "a")]
    [InlineData("a😀b", 5, "a😀")]
    [InlineData("a😀b", 6, "a😀b")]
    public void Utf8_prefixes_end_on_a_character(string text, long maxBytes, string expected) =>
        Assert.Equal(expected, Utf8Text.Prefix(text, maxBytes));
}
