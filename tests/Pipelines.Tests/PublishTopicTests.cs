namespace Pipelines.Tests;

/// <summary>Found by review: a publish step could post to any topic, forging step results and pushes.</summary>
public sealed class PublishTopicTests
{
    private static string Doc(string topic) => $"name: p\nsteps:\n  - {{id: a, kind: script, run: x}}\n  - {{id: p, kind: publish, topic: '{topic}', data: {{x: y}}}}\n";

    private static List<string> Problems(string topic, PublishTopicPolicy? policy = null) =>
        PipelineParser.Parse(Doc(topic), PipelineFormat.Yaml, policy).Problems.Select(p => p.Path).ToList();

    [Theory]
    [InlineData("pipeline.step.result")]
    [InlineData("pipeline.step.dispatch")]
    [InlineData("pipeline.run.finished")]
    [InlineData("scm.push")]
    [InlineData("webhook.received")]
    [InlineData("alerts.received")]
    [InlineData("releases")]
    public void Platform_and_unlisted_topics_are_refused_at_their_path(string topic)
    {
        Assert.Equal(["steps[1].topic"], Problems(topic));
    }

    [Fact]
    public void Topics_under_pipeline_custom_are_allowed_by_default()
    {
        Assert.Empty(Problems("pipeline.custom.releases"));
    }

    [Fact]
    public void The_reason_names_the_rule()
    {
        var problem = Assert.Single(PipelineParser.Parse(Doc("pipeline.step.result"), PipelineFormat.Yaml).Problems);
        Assert.Contains("platform topic", problem.Message, StringComparison.Ordinal);
        problem = Assert.Single(PipelineParser.Parse(Doc("releases"), PipelineFormat.Yaml).Problems);
        Assert.Contains("Pipelines:Publish:AllowedTopics", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_list_allows_exact_names_and_prefixes_but_never_platform_topics()
    {
        var policy = new PublishTopicPolicy(["releases", "team.*", "pipeline.step.result", "scm.push"]);
        Assert.Empty(Problems("releases", policy));
        Assert.Empty(Problems("team.web.deployed", policy));
        Assert.Equal(["steps[1].topic"], Problems("team", policy));
        Assert.Equal(["steps[1].topic"], Problems("pipeline.custom.x", policy)); // not on this list
        Assert.Equal(["steps[1].topic"], Problems("pipeline.step.result", policy)); // reserved whatever the list says
        Assert.Equal(["steps[1].topic"], Problems("scm.push", policy));
    }

    [Fact]
    public void With_a_registry_the_topic_must_be_declared()
    {
        var policy = new PublishTopicPolicy([PublishTopicPolicy.DefaultPattern], t => t == "pipeline.custom.known");
        Assert.Empty(Problems("pipeline.custom.known", policy));
        Assert.Equal(["steps[1].topic"], Problems("pipeline.custom.unknown", policy));
    }

    [Fact]
    public void Bad_topic_names_are_refused()
    {
        Assert.Equal(["steps[1].topic"], Problems("Pipeline.Custom.X"));
        Assert.Equal(["steps[1].topic"], Problems("pipeline.custom." + new string('x', 200)));
    }
}
