namespace Pipelines.Tests;

/// <summary>
/// Found by review: a step URL's template values were inserted unencoded, so a parameter such as <c>../admin?x=1</c>
/// changed the path and query the request went to. Values after the scheme and authority are percent-encoded now.
/// </summary>
public sealed class UrlTemplateTests
{
    private static string Render(string template, params (string Name, object? Value)[] parameters) =>
        UrlTemplate.Render(template, new ExpressionContext { Parameters = parameters.ToDictionary(p => p.Name, p => p.Value) });

    [Theory]
    [InlineData("../admin?x=1", "..%2Fadmin%3Fx%3D1")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a?b", "a%3Fb")]
    [InlineData("a#b", "a%23b")]
    [InlineData("100%", "100%25")]
    [InlineData("%2F", "%252F")]
    [InlineData("two words", "two%20words")]
    [InlineData("a+b&c=d;e", "a%2Bb%26c%3Dd%3Be")]
    [InlineData("ünï €😀", "%C3%BCn%C3%AF%20%E2%82%AC%F0%9F%98%80")]
    [InlineData("safe-._~AZaz09", "safe-._~AZaz09")]
    [InlineData("...", "...")]
    [InlineData("..x", "..x")]
    [InlineData("", "")]
    public void A_value_in_the_path_is_encoded_as_one_segment(string id, string encoded)
    {
        Assert.Equal($"https://api.example/items/{encoded}/details", Render("https://api.example/items/${{ parameters.id }}/details", ("id", id)));
    }

    [Fact]
    public void Values_in_the_query_and_fragment_are_encoded_as_one_value()
    {
        Assert.Equal(
            "https://api.example/search?q=a%20b%26admin%3Dtrue%23x&page=2#sec%2F1",
            Render("https://api.example/search?q=${{ parameters.q }}&page=${{ parameters.page }}#${{ parameters.frag }}", ("q", "a b&admin=true#x"), ("page", 2d), ("frag", "sec/1")));
        Assert.Equal("https://api.example/x?q=..", Render("https://api.example/x?q=${{ parameters.q }}", ("q", "..")));
    }

    [Fact]
    public void A_template_that_gives_the_scheme_or_authority_is_inserted_as_it_is()
    {
        // A base URL (with a path of its own), the whole URL, the host and port, the scheme: all before the path begins.
        Assert.Equal(
            "https://api.example/v1/items/a%2Fb",
            Render("${{ parameters.baseUrl }}/items/${{ parameters.id }}", ("baseUrl", "https://api.example/v1"), ("id", "a/b")));
        Assert.Equal(
            "https://x.example/a b?c=d#e",
            Render("${{ parameters.url }}", ("url", "https://x.example/a b?c=d#e")));
        Assert.Equal(
            "http://10.0.0.7:8080/x/%3F",
            Render("http://${{ parameters.host }}:${{ parameters.port }}/x/${{ parameters.id }}", ("host", "10.0.0.7"), ("port", 8080d), ("id", "?")));
        Assert.Equal(
            "http://user@h.example/p/q%2Fr",
            Render("${{ parameters.scheme }}://${{ parameters.auth }}/p/${{ parameters.id }}", ("scheme", "http"), ("auth", "user@h.example"), ("id", "q/r")));

        // After a base URL with a path, even a value right behind it is in the path.
        Assert.Equal("https://api.example/v1%2Fadmin", Render("${{ parameters.baseUrl }}${{ parameters.id }}", ("baseUrl", "https://api.example/v1"), ("id", "/admin")));
    }

    [Fact]
    public void The_example_of_the_readme_renders_as_it_says()
    {
        Assert.Equal(
            "https://api.example/v1/items/..%2Fadmin%3Fx%3D1?q=a%20b%26c",
            Render("${{ parameters.baseUrl }}/items/${{ parameters.id }}?q=${{ parameters.q }}", ("baseUrl", "https://api.example/v1"), ("id", "../admin?x=1"), ("q", "a b&c")));
    }

    [Fact]
    public void A_template_without_values_in_the_path_renders_as_text()
    {
        Assert.Equal("https://h.example/a%20b/c?d=e#f", Render("https://h.example/a%20b/c?d=e#f"));
        Assert.Equal("https://h.example/deploy-prod", Render("https://h.example/deploy-prod"));
    }

    [Theory]
    [InlineData("https://api.example/items/${{ parameters.id }}", "..")]
    [InlineData("https://api.example/items/${{ parameters.id }}", ".")]
    [InlineData("https://api.example/items/${{ parameters.id }}/x", "..")]
    [InlineData("https://api.example/files/.${{ parameters.id }}", ".")]
    [InlineData("https://api.example/files/${{ parameters.id }}.", ".")]
    [InlineData("https://api.example/files/.${{ parameters.id }}.", "")]
    public void A_value_that_makes_a_dot_segment_is_refused(string template, string id)
    {
        // URL parsers drop "." and ".." segments, percent-encoded or not, and climb the path.
        var error = Assert.Throws<ExpressionException>(() => Render(template, ("id", id)));
        Assert.StartsWith("a value substituted into the URL makes the path segment '", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encoding_does_not_keep_a_dot_segment_from_climbing_so_it_is_refused()
    {
        Assert.Equal("https://api.example/", new Uri("https://api.example/items/%2E%2E").AbsoluteUri);
        Assert.Equal("https://api.example/x", new Uri("https://api.example/items/.%2e/x").AbsoluteUri);
    }

    [Fact]
    public void Dot_segments_of_the_template_itself_are_left_to_the_template()
    {
        Assert.Equal("https://api.example/a/../b/x", Render("https://api.example/a/../b/${{ parameters.id }}", ("id", "x")));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("ht", true)]
    [InlineData("https", true)]
    [InlineData("https:", true)]
    [InlineData("https:/", true)]
    [InlineData("https://", true)]
    [InlineData("https://api.example", true)]
    [InlineData("https://user@api.example:8443", true)]
    [InlineData("https://api.example/", false)]
    [InlineData("https://api.example?", false)]
    [InlineData("https://api.example#", false)]
    [InlineData("https:/x", false)]
    [InlineData("mailto:x", false)]
    [InlineData("/relative", false)]
    [InlineData("a/b:c", false)]
    public void The_scheme_and_authority_end_where_the_path_query_or_fragment_begins(string prefix, bool inOrigin)
    {
        Assert.Equal(inOrigin, UrlTemplate.InOrigin(prefix));
    }
}
