namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Checks a <see cref="WebhookSource"/> and reports every problem at once (not just the first), so a
/// configuration file can be fixed in one pass. Messages never contain secret values.
/// </summary>
public static class WebhookSourceValidator
{
    /// <summary>The longest source name: it is a state key part and a URL path segment.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Whether a name may name a source: 1-<see cref="MaxNameLength"/> ASCII letters, digits, '-' and '_'.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && name.All(IsNameChar);

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    public static IReadOnlyList<ConfigurationProblem> Validate(WebhookSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var problems = new List<ConfigurationProblem>();

        if (string.IsNullOrWhiteSpace(source.Name))
        {
            problems.Add(new("name", "required"));
        }
        else if (!source.Name.All(IsNameChar))
        {
            // The name becomes a URL path segment of the receiving endpoint.
            problems.Add(new("name", "only ASCII letters, digits, '-' and '_' are allowed"));
        }
        else if (source.Name.Length > MaxNameLength)
        {
            problems.Add(new("name", $"must be at most {MaxNameLength} characters"));
        }

        var kindKnown = WebhookKinds.TryParse(source.Kind, out var kind);
        if (!kindKnown)
        {
            problems.Add(new("kind", string.IsNullOrWhiteSpace(source.Kind)
                ? "required"
                : $"unknown kind '{source.Kind}'; expected one of {string.Join(", ", WebhookKinds.Names)}"));
        }

        ValidateSecrets(source, kindKnown ? kind : null, problems);
        if (kindKnown)
        {
            ValidateOptions(source.Options, kind, problems);
        }

        return problems;
    }

    private static void ValidateSecrets(WebhookSource source, WebhookKind? kind, List<ConfigurationProblem> problems)
    {
        if (source.Secrets is null || source.Secrets.Count == 0)
        {
            problems.Add(new("secrets", "at least one secret is required"));
            return;
        }

        for (var i = 0; i < source.Secrets.Count; i++)
        {
            var secret = source.Secrets[i];
            var path = $"secrets[{i}]";
            if (string.IsNullOrEmpty(secret))
            {
                problems.Add(new(path, "must not be empty"));
            }
            else if (kind == WebhookKind.Standard && !StandardWebhookSecret.TryDecode(secret, out _))
            {
                problems.Add(new(path, "must be 'whsec_' followed by a non-empty base64 key"));
            }
        }
    }

    private static void ValidateOptions(WebhookSourceOptions options, WebhookKind kind, List<ConfigurationProblem> problems)
    {
        if (options.RateLimitPerSecond is { } rate && (!(rate > 0) || double.IsInfinity(rate)))
        {
            problems.Add(new("options.rateLimitPerSecond", "must be a positive number"));
        }

        if (options.Tolerance is { } tolerance && tolerance <= TimeSpan.Zero)
        {
            problems.Add(new("options.tolerance", "must be positive"));
        }

        if (kind != WebhookKind.Generic)
        {
            // Settings that only generic reads are most likely a mistaken kind; say so instead of ignoring them.
            NotUsed(options.Mode, "options.mode", kind, problems);
            NotUsed(options.Header, "options.header", kind, problems);
            NotUsed(options.Algorithm, "options.algorithm", kind, problems);
            NotUsed(options.Encoding, "options.encoding", kind, problems);
            NotUsed(options.Prefix, "options.prefix", kind, problems);
            NotUsed(options.TimestampHeader, "options.timestampHeader", kind, problems);
            NotUsed(options.IdHeader, "options.idHeader", kind, problems);
            NotUsed(options.EventHeader, "options.eventHeader", kind, problems);
            if (kind != WebhookKind.Standard && options.Tolerance is not null)
            {
                problems.Add(new("options.tolerance", $"not used by kind '{Name(kind)}'"));
            }

            return;
        }

        var mode = options.Mode ?? "hmac";
        if (mode.Equals("bearer", StringComparison.OrdinalIgnoreCase))
        {
            NotUsedInBearer(options.Header, "options.header", problems);
            NotUsedInBearer(options.Algorithm, "options.algorithm", problems);
            NotUsedInBearer(options.Encoding, "options.encoding", problems);
            NotUsedInBearer(options.Prefix, "options.prefix", problems);
            NotUsedInBearer(options.TimestampHeader, "options.timestampHeader", problems);
            return;
        }

        if (!mode.Equals("hmac", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new("options.mode", $"unknown mode '{mode}'; expected 'hmac' or 'bearer'"));
            return;
        }

        if (string.IsNullOrWhiteSpace(options.Header))
        {
            problems.Add(new("options.header", "required for kind 'generic'"));
        }

        if (options.Algorithm is not null && GenericHmacVerifier.ParseAlgorithm(options.Algorithm) is null)
        {
            problems.Add(new("options.algorithm", $"unknown algorithm '{options.Algorithm}'; expected 'sha256' or 'sha512'"));
        }

        if (options.Encoding is not null && GenericHmacVerifier.ParseEncoding(options.Encoding) is null)
        {
            problems.Add(new("options.encoding", $"unknown encoding '{options.Encoding}'; expected 'hex' or 'base64'"));
        }

        if (options.TimestampHeader is not null && string.IsNullOrWhiteSpace(options.TimestampHeader))
        {
            problems.Add(new("options.timestampHeader", "must not be blank when set"));
        }

        if (options.Tolerance is not null && options.TimestampHeader is null)
        {
            problems.Add(new("options.tolerance", "only used together with options.timestampHeader"));
        }
    }

    private static void NotUsed(string? value, string path, WebhookKind kind, List<ConfigurationProblem> problems)
    {
        if (value is not null)
        {
            problems.Add(new(path, $"not used by kind '{Name(kind)}'"));
        }
    }

    private static void NotUsedInBearer(string? value, string path, List<ConfigurationProblem> problems)
    {
        if (value is not null)
        {
            problems.Add(new(path, "not used by generic mode 'bearer'"));
        }
    }

    private static string Name(WebhookKind kind) => kind switch
    {
        WebhookKind.GitHub => "github",
        WebhookKind.GitLab => "gitlab",
        WebhookKind.Standard => "standard",
        WebhookKind.Alertmanager => "alertmanager",
        _ => "generic",
    };
}
