using System.Globalization;
using System.Text;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Runs an http step: URL, headers and body rendered from templates (the URL by <see cref="UrlTemplate"/>: values in
/// its path, query and fragment percent-encoded); 2xx (or <c>expectStatus</c>) succeeds. Outputs <c>status</c> and
/// <c>body</c> (its first 4 KiB of UTF-8, <see cref="StepOutputLimit.HttpBody(ReadOnlySpan{byte}, string?)"/>): at most
/// <see cref="StepOutputLimit.HttpBodyReadBytes"/> of the answer are read, the rest never, however long it is. A
/// network error fails it; no answer (headers and those bytes) within the HTTP timeout times it out.
/// </summary>
public sealed class HttpStepExecutor(GuardedHttp http)
{
    /// <summary>
    /// A JSON body (an object or array sent as JSON, the default content type) has its templates rendered inside the
    /// parsed value tree, so a parameter holding quotes, backslashes or braces stays one JSON string; any other body
    /// is text and rendered as text.
    /// </summary>
    public static string? RenderBody(string? body, string? contentType, ExpressionContext context)
    {
        if (body is null)
        {
            return null;
        }

        var mediaType = (contentType ?? "application/json").Split(';')[0].Trim();
        var json = mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        return json && JsonTemplate.IsJsonDocument(body) ? JsonTemplate.Render(body, context) : TemplateString.Render(body, context);
    }

    public async Task<StepExecution> RunAsync(HttpStep spec, StepWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(work);
        var url = UrlTemplate.Render(spec.Url, work.Context);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return StepExecution.Failed($"'{url}' is not an http(s) URL");
        }

        var headers = spec.Headers.ToDictionary(h => h.Key, h => TemplateString.Render(h.Value, work.Context), StringComparer.OrdinalIgnoreCase);
        var body = RenderBody(spec.Body, headers.GetValueOrDefault("Content-Type"), work.Context);
        work.Log.WriteLine($"{spec.Method} {uri.AbsoluteUri}");
        try
        {
            var answer = await http.SendAsync(() =>
            {
                var request = new HttpRequestMessage(new HttpMethod(spec.Method.ToUpperInvariant()), uri);
                if (body is not null)
                {
                    request.Content = new StringContent(body, Encoding.UTF8, headers.GetValueOrDefault("Content-Type") ?? "application/json");
                    request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(headers.GetValueOrDefault("Content-Type") ?? "application/json");
                }

                foreach (var (name, value) in headers.Where(h => !h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                return request;
            }, StepOutputLimit.HttpBodyReadBytes, cancellationToken).ConfigureAwait(false);
            var status = answer.Status;
            work.Log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"→ {status}"));
            var outputs = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["status"] = status.ToString(CultureInfo.InvariantCulture),
                ["body"] = StepOutputLimit.HttpBody(answer.Body, answer.CharSet),
            };
            var ok = spec.ExpectStatus is { } expected ? status == expected : answer.IsSuccess;
            return ok ? StepExecution.Succeeded(outputs) : new StepExecution(StepOutcome.Failed, outputs, string.Create(CultureInfo.InvariantCulture, $"HTTP {status}"));
        }
        catch (HttpRequestException ex)
        {
            work.Log.WriteLine(ex.InnerException?.Message ?? ex.Message);
            return StepExecution.Failed(ex.InnerException?.Message ?? ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The client's timeout (Pipelines:Http:TimeoutSeconds), not a cancel of the step: a timeout, retried as one.
            var error = $"no answer within {Durations.Format(http.Timeout)}";
            work.Log.WriteLine(error);
            return new StepExecution(StepOutcome.TimedOut, new Dictionary<string, string>(), error);
        }
    }
}
