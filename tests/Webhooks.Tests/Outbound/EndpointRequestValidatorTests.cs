using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class EndpointRequestValidatorTests
{
    [Fact]
    public void A_good_request_has_no_problems()
    {
        var request = new EndpointRequest(
            "https://hooks.example.com/in",
            ["invoice.paid", "user.*"],
            "Billing",
            50,
            new Dictionary<string, string?> { ["Authorization"] = "Bearer abc", ["X-Tenant"] = "42" });

        Assert.Empty(EndpointRequestValidator.Validate(request));
    }

    [Fact]
    public void Reports_every_problem_with_its_field_path()
    {
        var request = new EndpointRequest(
            "ftp://hooks.example.com/",
            ["invoice.paid", "ok.*", "bad*", "invoice.paid"],
            new string('d', 1025),
            0,
            new Dictionary<string, string?>
            {
                ["Host"] = "evil.example.com",
                ["Content-Length"] = "1",
                ["webhook-signature"] = "v1,forged",
                ["Transfer-Encoding"] = "chunked",
                ["X-Injected"] = "a\r\nX-Other: b",
                ["Bad Name"] = "x",
            });

        var problems = EndpointRequestValidator.Validate(request).Select(p => p.ToString()).ToList();

        Assert.Contains("url: must use http or https", problems);
        Assert.Contains(problems, p => p.StartsWith("eventTypes[2]: ", StringComparison.Ordinal));
        Assert.Contains("eventTypes[3]: duplicates 'invoice.paid'", problems);
        Assert.Contains(problems, p => p.StartsWith("description: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("rateLimitPerSecond: ", StringComparison.Ordinal));
        Assert.Contains("headers.Host: not allowed", problems);
        Assert.Contains("headers.Content-Length: not allowed", problems);
        Assert.Contains("headers.webhook-signature: not allowed", problems);
        Assert.Contains("headers.Transfer-Encoding: not allowed", problems);
        Assert.Contains(problems, p => p.StartsWith("headers.X-Injected: ", StringComparison.Ordinal));
        Assert.Contains("headers.Bad Name: is not a valid header name", problems);
        Assert.Equal(11, problems.Count);
    }

    [Theory]
    [InlineData(null, "url: is required")]
    [InlineData("hooks.example.com/in", "url: must be an absolute URL")]
    [InlineData("https://user:pw@hooks.example.com/", "url: must not contain a user name or password")]
    [InlineData("https://hooks.example.com/#frag", "url: must not contain a fragment")]
    public void Url_shape_problems(string? url, string expected) =>
        Assert.Equal([expected], EndpointRequestValidator.Validate(new EndpointRequest(url)).Select(p => p.ToString()));

    [Fact]
    public void Header_problems_never_echo_header_values()
    {
        var request = new EndpointRequest("https://hooks.example.com/", Headers: new Dictionary<string, string?> { ["Authorization"] = "Bearer s3cret\n" });
        var problem = Assert.Single(EndpointRequestValidator.Validate(request));
        Assert.Equal("headers.Authorization", problem.Path);
        Assert.DoesNotContain("s3cret", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_names_that_differ_only_in_case_are_duplicates()
    {
        var request = new EndpointRequest("https://hooks.example.com/", Headers: new Dictionary<string, string?> { ["X-A"] = "1", ["x-a"] = "2" });
        Assert.Single(EndpointRequestValidator.Validate(request));
    }

    [Theory]
    [InlineData("caf\u00e9")]
    [InlineData("\u00a0non-breaking")]
    [InlineData("snow\u2603man")]
    [InlineData("del\u007f")]
    public void A_header_value_outside_visible_ASCII_is_refused_at_its_path(string escaped)
    {
        var request = new EndpointRequest("https://hooks.example.com/", Headers: new Dictionary<string, string?> { ["X-Name"] = System.Text.RegularExpressions.Regex.Unescape(escaped) });
        var problem = Assert.Single(EndpointRequestValidator.Validate(request));
        Assert.Equal("headers.X-Name", problem.Path);
        Assert.Equal("value must contain only visible ASCII characters, spaces and tabs", problem.Message);
    }

    [Fact]
    public void A_header_value_of_visible_ASCII_with_spaces_and_tabs_is_accepted() =>
        Assert.Empty(EndpointRequestValidator.Validate(new EndpointRequest("https://hooks.example.com/", Headers: new Dictionary<string, string?> { ["X-Name"] = "Cafe; \"quoted\"\t~ ok!" })));

    private static readonly EventTypeCatalogue Catalogue = new(
    [
        new("scm.push", "scm.push", null),
        new("pipeline.run.failed", "pipeline.run.finished", null),
        new("pipeline.run.succeeded", "pipeline.run.finished", null),
    ]);

    [Fact]
    public void With_a_catalogue_a_filter_no_delivered_type_matches_is_refused_at_its_path()
    {
        var request = new EndpointRequest("https://hooks.example.com/", ["scm.push", "pipline.run.failed", "pipeline.*", "webhook.*", "pipeline.run.failed"]);

        Assert.Empty(EndpointRequestValidator.Validate(request)); // without a catalogue (endpoints already stored): only the shape is checked
        var problems = EndpointRequestValidator.Validate(request, Catalogue);

        Assert.Equal(["eventTypes[1]", "eventTypes[3]"], problems.Select(p => p.Path));
        Assert.StartsWith("'pipline.run.failed' matches no event type delivered here", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("closest known: pipeline.run.failed", problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_type_stays_valid_with_a_catalogue_and_shape_problems_come_first()
    {
        Assert.Empty(EndpointRequestValidator.Validate(new EndpointRequest("https://hooks.example.com/", []), Catalogue));
        Assert.Empty(EndpointRequestValidator.Validate(new EndpointRequest("https://hooks.example.com/", ["*"]), Catalogue));
        Assert.Empty(EndpointRequestValidator.Validate(new EndpointRequest("https://hooks.example.com/"), Catalogue));

        var problems = EndpointRequestValidator.Validate(new EndpointRequest("https://hooks.example.com/", ["bad type", "none.x", "none.x"]), Catalogue);
        Assert.Equal(["eventTypes[0]", "eventTypes[1]", "eventTypes[2]"], problems.Select(p => p.Path));
        Assert.Equal("duplicates 'none.x'", problems[2].Message);
    }
}

