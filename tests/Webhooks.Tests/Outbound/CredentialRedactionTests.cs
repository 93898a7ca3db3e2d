using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class CredentialRedactionTests
{
    [Theory]
    [InlineData("https://hooks.example/in?api_key=LEAKME&team=ops", "https://hooks.example/in?api_key=[redacted]&team=ops")]
    [InlineData("https://hooks.example/in?access_token=x&Signature=y#top", "https://hooks.example/in?access_token=[redacted]&Signature=[redacted]#top")]
    [InlineData("https://bot:hunter2@hooks.example:8443/in", "https://bot:[redacted]@hooks.example:8443/in")]
    [InlineData("https://hooks.example/in", "https://hooks.example/in")]
    [InlineData("https://hooks.example/in?page=2", "https://hooks.example/in?page=2")]
    public void Credentials_in_a_url_are_not_shown_and_the_rest_is_as_configured(string url, string shown) =>
        Assert.Equal(shown, CredentialRedaction.Url(url));

    [Fact]
    public void Header_values_that_hold_credentials_are_not_shown()
    {
        var shown = CredentialRedaction.Headers(new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer abc",
            ["X-Api-Key"] = "k",
            ["X-Auth-Token"] = "t",
            ["X-Env"] = "prod",
        });

        Assert.Equal(["[redacted]", "[redacted]", "[redacted]", "prod"], new[] { shown["Authorization"], shown["X-Api-Key"], shown["X-Auth-Token"], shown["X-Env"] });
    }
}
