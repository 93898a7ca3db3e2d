using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class EventTypeCatalogueTests
{
    private static readonly EventTypeCatalogue Catalogue = new(
    [
        new("scm.push", "scm.push", "a git push"),
        new("pipeline.run.succeeded", "pipeline.run.finished", "a run ended"),
        new("pipeline.run.failed", "pipeline.run.finished", "a run ended"),
        new("pipeline.run.cancelled", "pipeline.run.finished", "a run ended"),
        new("pipeline.step.failed", "pipeline.step.finished", "a step ended"),
        new("webhook.endpoint.disabled", "webhook.endpoint.disabled", null),
        new("acme.deploy.*", "acme.deploys", "an open family"),
    ]);

    [Theory]
    [InlineData("pipeline.run.failed")]
    [InlineData("pipeline.*")]
    [InlineData("pipeline.run.*")]
    [InlineData("scm.*")]
    [InlineData("acme.deploy.done")]
    [InlineData("acme.*")]
    [InlineData("acme.deploy.prod.*")]
    [InlineData("*")]
    public void A_filter_matching_a_delivered_type_or_family_can_match(string pattern) => Assert.True(Catalogue.CanMatch(pattern));

    [Theory]
    [InlineData("pipeline.run.finished")] // a topic, not a type its events have
    [InlineData("webhook.received")] // not delivered
    [InlineData("pipline.run.failed")]
    [InlineData("pipeline.steps.*")]
    [InlineData("acme.deploy")] // the family is below acme.deploy., not acme.deploy itself
    [InlineData("nothing.*")]
    public void A_filter_matching_no_delivered_type_cannot(string pattern)
    {
        Assert.False(Catalogue.CanMatch(pattern));
        Assert.StartsWith($"'{pattern}' ", Catalogue.Problem(pattern), StringComparison.Ordinal);
    }

    [Fact]
    public void A_filter_that_can_match_has_no_problem() => Assert.Null(Catalogue.Problem("pipeline.run.failed"));

    [Theory]
    [InlineData("pipline.run.failed", "pipeline.run.failed")]
    [InlineData("pipeline.run.fail", "pipeline.run.failed")]
    [InlineData("scm.pushed", "scm.push")]
    [InlineData("webhook.received", "webhook.endpoint.disabled")]
    [InlineData("acme.deploy", "acme.deploy.*")]
    [InlineData("nothing.at.all", "")]
    public void The_closest_known_types_are_typos_first_then_those_sharing_leading_segments(string pattern, string expected) =>
        Assert.Equal(expected, string.Join(", ", Catalogue.Closest(pattern)));

    [Fact]
    public void A_refusal_names_the_closest_types_and_where_to_list_them_all()
    {
        Assert.Equal(
            "'pipline.run.failed' matches no event type delivered here, so the endpoint would never receive anything; closest known: pipeline.run.failed (GET /api/webhooks/event-types lists them all)",
            Catalogue.Problem("pipline.run.failed"));
        Assert.Equal(
            "'nothing.*' matches no event type delivered here, so the endpoint would never receive anything (GET /api/webhooks/event-types lists them all)",
            Catalogue.Problem("nothing.*"));
    }

    [Fact]
    public void A_topic_name_whose_events_have_other_types_is_answered_with_those_types() =>
        Assert.Equal(
            "'pipeline.run.finished' is a delivered topic, not an event type: its events have the types pipeline.run.cancelled, pipeline.run.failed, pipeline.run.succeeded",
            Catalogue.Problem("pipeline.run.finished"));

    [Fact]
    public void Entries_are_listed_once_by_type_then_topic()
    {
        var catalogue = new EventTypeCatalogue([new("b.x", "t2", null), new("a.x", "t1", null), new("b.x", "t1", null), new("a.x", "t1", "again")]);

        Assert.Equal([("a.x", "t1"), ("b.x", "t1"), ("b.x", "t2")], catalogue.Entries.Select(e => (e.Type, e.Topic)));
    }

    [Fact]
    public void Long_filters_are_compared_cheaply_and_get_no_far_fetched_suggestions() =>
        Assert.Empty(Catalogue.Closest(string.Join('.', Enumerable.Repeat("segment", 30))));
}
