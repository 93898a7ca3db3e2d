using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Http;

/// <summary>
/// Turns the building blocks' typed exceptions into RFC 9457 problem+json with the right status and, where a
/// request field is at fault, its path under <c>errors</c>. Anything unexpected is a 500 that reveals nothing.
/// A state store that cannot be reached (PostgreSQL down or restarting, SQLite busy past its timeout) is a 503 with
/// <c>Retry-After</c>: nothing was stored, and a sender (GitHub, Alertmanager, a till) should simply try again. Those
/// are logged as one warning per <see cref="UnavailableLogInterval"/> with how many requests it refused, not one stack
/// trace per request.
/// </summary>
public sealed partial class ProblemMapping(IProblemDetailsService problems, ILogger<ProblemMapping> logger, TimeProvider time) : IExceptionHandler
{
    /// <summary>The delay a 503 asks for.</summary>
    public const int RetryAfterSeconds = 5;

    public static readonly TimeSpan UnavailableLogInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private long _refusedSinceLastLog;
    private DateTimeOffset _nextUnavailableLog = DateTimeOffset.MinValue;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Map(exception);
        if (problem.Status == 503)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            LogUnavailable(httpContext, exception);
        }
        else if (problem.Status >= 500)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }).ConfigureAwait(false);
    }

    public static ProblemDetails Map(Exception exception) => exception switch
    {
        ETagMismatchException e => new ProblemDetails { Status = 412, Title = "ETag mismatch", Detail = e.Message },
        InvalidStateKeyException e => Validation("key", e.Message),
        InvalidContinuationTokenException => Validation("cursor", InvalidContinuationTokenException.Explanation),
        StateValueTooLargeException e => new ProblemDetails { Status = 413, Title = "Value too large", Detail = e.Message },
        UnknownTopicException e => new ProblemDetails { Status = 404, Title = "Unknown topic", Detail = e.Message },
        InvalidTopicNameException e => Validation("topic", e.Message),
        MalformedCloudEventException e => Validation("body", e.Message),
        BadHttpRequestException { StatusCode: 400, InnerException: JsonException json } => Validation(JsonProblems.FieldPath(json.Path), JsonProblems.Describe(json)),
        BadHttpRequestException { StatusCode: 400 } e when BindingFailure().Match(e.Message) is { Success: true } m =>
            Validation(m.Groups["name"].Value, $"'{m.Groups["value"].Value}' is not {Expected(m.Groups["type"].Value)}."),
        BadHttpRequestException e => new ProblemDetails { Status = e.StatusCode, Title = e.StatusCode == 413 ? "Request body too large" : "Bad request", Detail = e.Message },
        JsonException e => Validation(JsonProblems.FieldPath(e.Path), JsonProblems.Describe(e)),
        OperationCanceledException => new ProblemDetails { Status = 499, Title = "Request cancelled" },
        _ when TransientFailures.IsTransient(exception) => new ProblemDetails
        {
            Status = 503,
            Title = "Service unavailable",
            Detail = "A backing store is unreachable at the moment; nothing was stored. Retry after the Retry-After delay.",
        },
        _ => new ProblemDetails { Status = 500, Title = "Internal error", Detail = "The server failed to handle the request; the error is logged with this request's trace id." },
    };

    private void LogUnavailable(HttpContext httpContext, Exception exception)
    {
        long refused;
        lock (_gate)
        {
            _refusedSinceLastLog++;
            var now = time.GetUtcNow();
            if (now < _nextUnavailableLog)
            {
                return;
            }

            _nextUnavailableLog = now + UnavailableLogInterval;
            refused = _refusedSinceLastLog;
            _refusedSinceLastLog = 0;
        }

        // The messages only: a connection error says where and why, and a stack trace per refused request would bury the log.
        logger.LogWarning(
            "A backing store is unavailable: {Method} {Path} answered 503 ({Refused} requests since the last such line): {Reason}",
            httpContext.Request.Method,
            httpContext.Request.Path,
            refused,
            TransientFailures.Describe(exception));
    }

    /// <summary>What a parameter of this .NET type takes, in words ("Nullable&lt;int&gt;" → "a whole number").</summary>
    private static string Expected(string type)
    {
        var inner = type.StartsWith("Nullable<", StringComparison.Ordinal) ? type[9..^1] : type.TrimEnd('?');
        return inner switch
        {
            "int" or "long" or "short" or "Int32" or "Int64" => "a whole number",
            "double" or "decimal" or "float" or "Double" or "Decimal" => "a number",
            "bool" or "Boolean" => "true or false",
            "DateTimeOffset" or "DateTime" => "a date and time (ISO 8601)",
            "TimeSpan" => "a duration (hh:mm:ss)",
            "Guid" => "a GUID",
            _ => "a valid value",
        };
    }

    /// <summary>ASP.NET Core's message for a route or query value that does not convert: Failed to bind parameter "int? limit" from "abc".</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^Failed to bind parameter \"(?<type>[^\" ]+) (?<name>[^\" ]+)\" from \"(?<value>[^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex BindingFailure();

    private static HttpValidationProblemDetails Validation(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] }) { Status = 400, Title = "Invalid request", Detail = message };
}
