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
/// </summary>
public sealed class ProblemMapping(IProblemDetailsService problems, ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Map(exception);
        if (problem.Status >= 500)
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
        StateValueTooLargeException e => new ProblemDetails { Status = 413, Title = "Value too large", Detail = e.Message },
        UnknownTopicException e => new ProblemDetails { Status = 404, Title = "Unknown topic", Detail = e.Message },
        InvalidTopicNameException e => Validation("topic", e.Message),
        MalformedCloudEventException e => Validation("body", e.Message),
        BadHttpRequestException e => new ProblemDetails { Status = e.StatusCode, Title = e.StatusCode == 413 ? "Request body too large" : "Bad request", Detail = e.Message },
        JsonException e => Validation(string.IsNullOrEmpty(e.Path) ? "body" : e.Path, "The body is not valid JSON for this endpoint."),
        OperationCanceledException => new ProblemDetails { Status = 499, Title = "Request cancelled" },
        _ => new ProblemDetails { Status = 500, Title = "Internal error", Detail = "The server failed to handle the request; the error is logged with this request's trace id." },
    };

    private static HttpValidationProblemDetails Validation(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] }) { Status = 400, Title = "Invalid request", Detail = message };
}
