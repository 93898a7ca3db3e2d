using System.Text.Json;
using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

/// <summary>PATCH bodies as JSON merge patches (RFC 7396): absent = unchanged, null = removed.</summary>
public sealed class EndpointPatchTests
{
    private static readonly EndpointRequest Current = new(
        "https://hooks.example.com/in", ["scm.*"], "ci", 5, new Dictionary<string, string?> { ["X-Team"] = "retail", ["X-Env"] = "prod" });

    private static EndpointPatch Parse(string json) => JsonSerializer.Deserialize<EndpointPatch>(json, JsonSerializerOptions.Web)!;

    [Fact]
    public void Absent_members_leave_every_field_as_it_was()
    {
        var merged = Parse("{}").ApplyTo(Current);

        Assert.Equal((Current.Url, Current.Description, Current.RateLimitPerSecond), (merged.Url, merged.Description, merged.RateLimitPerSecond));
        Assert.Same(Current.EventTypes, merged.EventTypes);
        Assert.Same(Current.Headers, merged.Headers);
    }

    [Fact]
    public void An_explicit_null_removes_the_rate_limit_and_the_description()
    {
        var patch = Parse("""{"rateLimitPerSecond":null,"description":null}""");

        var merged = patch.ApplyTo(Current);

        Assert.Null(merged.RateLimitPerSecond);
        Assert.Null(merged.Description);
        Assert.Equal(Current.Url, merged.Url);
        Assert.Empty(patch.Validate());
        Assert.Empty(EndpointRequestValidator.Validate(merged));
    }

    [Fact]
    public void Values_replace_and_event_types_are_replaced_as_a_whole()
    {
        var merged = Parse("""{"url":"https://other.example.com/x","eventTypes":["alerts.received"],"rateLimitPerSecond":9}""").ApplyTo(Current);

        Assert.Equal("https://other.example.com/x", merged.Url);
        Assert.Equal(["alerts.received"], merged.EventTypes);
        Assert.Equal(9, merged.RateLimitPerSecond);
        Assert.Equal("ci", merged.Description);
    }

    [Fact]
    public void Headers_merge_name_by_name_case_insensitively_and_null_removes_them_all()
    {
        var merged = Parse("""{"headers":{"x-team":null,"x-env":"staging","X-New":"1"}}""").ApplyTo(Current);

        Assert.Equal(new Dictionary<string, string?> { ["x-env"] = "staging", ["X-New"] = "1" }, merged.Headers!.OrderBy(h => h.Key, StringComparer.Ordinal).ToDictionary());
        Assert.Empty(Parse("""{"headers":null}""").ApplyTo(Current).Headers!);
    }

    [Fact]
    public void The_url_and_the_event_types_cannot_be_removed_and_a_header_may_be_named_once()
    {
        var problems = Parse("""{"url":null,"eventTypes":null,"headers":{"X-A":"1","x-a":"2"}}""").Validate();

        Assert.Equal(["url", "eventTypes", "headers.x-a"], problems.Select(p => p.Path));
    }
    [Fact]
    public void Credentials_sent_back_as_shown_stay_as_stored_and_a_url_as_shown_is_refused()
    {
        var current = Current with { Headers = new Dictionary<string, string?> { ["Authorization"] = "Bearer real", ["X-Env"] = "prod" } };

        var merged = Parse("""{"headers":{"Authorization":"[redacted]","X-Env":"staging"}}""").ApplyTo(current);

        Assert.Equal("Bearer real", merged.Headers!["Authorization"]);
        Assert.Equal("staging", merged.Headers["X-Env"]);
        Assert.Equal("url", Assert.Single(Parse("""{"url":"https://hooks.example.com/in?api_key=[redacted]"}""").Validate()).Path);
    }

    [Fact]
    public void A_patched_header_value_that_cannot_be_sent_is_refused_at_its_path()
    {
        var merged = Parse("""{"headers":{"X-Name":"caf\u00e9"}}""").ApplyTo(Current);

        Assert.Equal("headers.X-Name", Assert.Single(EndpointRequestValidator.Validate(merged)).Path);
    }
}
