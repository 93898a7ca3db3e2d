using System.Text;

namespace Pipelines.Tests;

public sealed class StepOutputLimitTests
{
    [Fact]
    public void Outputs_count_the_utf8_bytes_of_names_and_values()
    {
        var outputs = new Dictionary<string, string> { ["a"] = "€€", ["bb"] = "x" }; // 1 + 6 + 2 + 1
        Assert.Equal(10, StepOutputLimit.Size(outputs));
        Assert.Null(StepOutputLimit.Problem(outputs, 10));
        Assert.Equal(
            "the outputs are 10 bytes, over the step output cap of 9 bytes (Pipelines:Runner:MaxOutputBytes); pass large data through files or an artifact store, not outputs",
            StepOutputLimit.Problem(outputs, 9));
    }

    [Fact]
    public void A_script_output_file_is_judged_by_its_size()
    {
        Assert.Null(StepOutputLimit.FileProblem(65536, StepOutputLimit.DefaultMaxBytes));
        Assert.StartsWith("$PIPELINE_OUTPUT holds 65537 bytes, over the step output cap of 65536 bytes", StepOutputLimit.FileProblem(65537, StepOutputLimit.DefaultMaxBytes), StringComparison.Ordinal);
    }

    [Fact]
    public void An_http_body_output_is_its_first_4_KiB_cut_at_a_character()
    {
        Assert.Equal("short", StepOutputLimit.HttpBody("short"));
        Assert.Equal(new string('x', 4096), StepOutputLimit.HttpBody(new string('x', 5000)));
        Assert.Equal(string.Concat(Enumerable.Repeat("😀", 1024)), StepOutputLimit.HttpBody(string.Concat(Enumerable.Repeat("😀", 2000))));
        Assert.Equal(new string('€', 1365), StepOutputLimit.HttpBody(new string('€', 2000)));

        // The cap can never refuse an http step: its body and status always fit the smallest cap allowed.
        var outputs = new Dictionary<string, string> { ["status"] = "200", ["body"] = StepOutputLimit.HttpBody(new string('€', 9000)) };
        Assert.Null(StepOutputLimit.Problem(outputs, StepOutputLimit.MinimumMaxBytes));
    }

    public static TheoryData<string, string?, bool> Charsets => new()
    {
        // encoding name, the charset the answer names (null: none), whether it starts with a byte order mark
        { "utf-8", "utf-8", false },
        { "utf-8", null, false },
        { "utf-8", null, true },
        { "utf-16", null, true },
        { "utf-16BE", "utf-16BE", false },
        { "utf-32", "utf-32", false },
        { "utf-32", null, true },
        { "iso-8859-1", "ISO-8859-1", false },
    };

    [Theory]
    [MemberData(nameof(Charsets))]
    public void The_first_bytes_of_an_answer_give_the_same_body_output_as_the_whole_answer(string encodingName, string? charset, bool byteOrderMark)
    {
        // Found by review: the whole answer was read (up to 2 GB) to keep 4 KiB. Reading HttpBodyReadBytes is enough,
        // in any charset, and a character cut at the end of what was read never shows.
        var encoding = Encoding.GetEncoding(encodingName);
        var unit = encodingName == "iso-8859-1" ? "aü ßé" : "a€ü😀 x";
        foreach (var offset in Enumerable.Range(0, 7))
        {
            var text = new string('-', offset) + string.Concat(Enumerable.Repeat(unit, 20_000));
            var bytes = (byteOrderMark ? encoding.GetPreamble() : []).Concat(encoding.GetBytes(text)).ToArray();
            var head = bytes.AsSpan(0, StepOutputLimit.HttpBodyReadBytes);
            Assert.Equal(StepOutputLimit.HttpBody(text), StepOutputLimit.HttpBody(head, charset));
            Assert.InRange(Encoding.UTF8.GetByteCount(StepOutputLimit.HttpBody(head, charset)), StepOutputLimit.HttpBodyBytes - 3, StepOutputLimit.HttpBodyBytes);
        }

        var whole = (byteOrderMark ? encoding.GetPreamble() : []).Concat(encoding.GetBytes(unit)).ToArray();
        Assert.Equal(unit, StepOutputLimit.HttpBody(whole, charset));
    }

    [Fact]
    public void An_unknown_charset_reads_as_utf8_and_quotes_are_allowed()
    {
        var bytes = Encoding.UTF8.GetBytes("grüße");
        Assert.Equal("grüße", StepOutputLimit.HttpBody(bytes, "x-no-such-charset"));
        Assert.Equal("grüße", StepOutputLimit.HttpBody(bytes, "\"utf-8\""));
        Assert.Equal(string.Empty, StepOutputLimit.HttpBody([], null));
    }
}
