namespace Serverless.Webhooks.Inbound;

/// <summary>Builds the verifier a source's kind calls for.</summary>
public static class WebhookVerifiers
{
    /// <exception cref="ArgumentException">The source is invalid; the message lists every problem (never secret values).</exception>
    public static IWebhookVerifier For(WebhookSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var problems = WebhookSourceValidator.Validate(source);
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"webhook source '{source.Name}' is invalid: {string.Join("; ", problems)}", nameof(source));
        }

        if (!WebhookKinds.TryParse(source.Kind, out var kind))
        {
            throw new InvalidOperationException("validation accepted an unknown kind"); // unreachable: validated above
        }

        var options = source.Options;
        return kind switch
        {
            WebhookKind.GitHub => new GitHubVerifier(source.Secrets),
            WebhookKind.GitLab => new GitLabVerifier(source.Secrets),
            WebhookKind.Standard => new StandardWebhooksVerifier(source.Secrets, options.Tolerance),
            WebhookKind.Alertmanager => new AlertmanagerVerifier(source.Secrets),
            _ when string.Equals(options.Mode, "bearer", StringComparison.OrdinalIgnoreCase)
                => new BearerTokenVerifier(source.Secrets, options.IdHeader, options.EventHeader),
            _ => new GenericHmacVerifier(source.Secrets, options),
        };
    }
}
