using System.Globalization;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runs;

namespace Pipelines.Service.Tests;

public sealed class DecodedRecordsTests
{
    private static RunRecord Record(string id) => new()
    {
        RunId = id,
        Pipeline = "p",
        Version = 1,
        Definition = new PipelineDefinition { Name = "p" },
        State = new RunState { RunId = id },
    };

    [Fact]
    public void A_record_comes_back_only_for_the_etag_it_was_stored_under()
    {
        var cache = new DecodedRecords();
        var record = Record("r1");
        cache.Remember("r1", record, "e1");

        Assert.Same(record, cache.Find("r1", "e1"));
        Assert.Null(cache.Find("r1", "e2"));
        Assert.Null(cache.Find("r2", "e1"));

        cache.Forget("r1");
        Assert.Null(cache.Find("r1", "e1"));
    }

    [Fact]
    public void A_full_generation_ages_out_the_runs_nobody_looked_at_and_keeps_the_ones_in_use()
    {
        var cache = new DecodedRecords();
        cache.Remember("in-use", Record("in-use"), "e");
        cache.Remember("idle", Record("idle"), "e");
        for (var i = 0; i < DecodedRecords.Capacity; i++)
        {
            cache.Remember(i.ToString(CultureInfo.InvariantCulture), Record("x"), "e");
        }

        // Both survived one swap (the older generation still answers); a hit moved "in-use" into the newer one.
        Assert.NotNull(cache.Find("in-use", "e"));
        for (var i = 0; i < DecodedRecords.Capacity; i++)
        {
            cache.Remember("y" + i.ToString(CultureInfo.InvariantCulture), Record("y"), "e");
        }

        Assert.Null(cache.Find("idle", "e"));
        Assert.NotNull(cache.Find("in-use", "e"));
    }
}
