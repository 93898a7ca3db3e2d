using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.Security;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Hosting.Apis;

/// <summary>
/// /api/state: the state store over HTTP for operators, in the manner of Dapr's state API. ETags travel in
/// <c>ETag</c> / <c>If-Match</c>; <c>If-None-Match: *</c> is a create-only write; <c>ttlSeconds</c> sets a TTL.
/// </summary>
public static class StateApi
{
    public static RouteGroupBuilder MapStateApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/state").WithTags("Platform").RequireAuthorization(Roles.Admin);
        api.MapGet("/", ListAsync).WithSummary("List keys by prefix, a page at a time");
        api.MapGet("/{**key}", GetAsync).WithSummary("Read a value; its ETag is in the ETag header");
        api.MapPut("/{**key}", PutAsync).WithSummary("Write a value (If-Match for first-write-wins, If-None-Match: * to create only)");
        api.MapDelete("/{**key}", DeleteAsync).WithSummary("Delete a key (If-Match to check the ETag)");
        return api;
    }

    private static async Task<Results<Ok<StateKeysPage>, ValidationProblem>> ListAsync(IStateStore state, string? prefix, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        var page = await state.ListKeysAsync(prefix ?? string.Empty, limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new StateKeysPage(page.Keys, page.ContinuationToken));
    }

    private static async Task<Results<FileContentHttpResult, NotFound>> GetAsync(string key, IStateStore state, HttpResponse response, CancellationToken cancellationToken)
    {
        var item = await state.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (item is null)
        {
            return TypedResults.NotFound();
        }

        response.Headers.ETag = Quote(item.ETag);
        return TypedResults.File(item.Value.ToArray(), "application/octet-stream");
    }

    private static async Task<NoContent> PutAsync(string key, HttpRequest request, IStateStore state, int? ttlSeconds, CancellationToken cancellationToken)
    {
        StateKeys.Validate(key);
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var options = new StateWriteOptions(
            ETag: Unquote(request.Headers.IfMatch.ToString()),
            Ttl: ttlSeconds is > 0 ? TimeSpan.FromSeconds(ttlSeconds.Value) : null,
            OnlyIfAbsent: request.Headers.IfNoneMatch.ToString() == "*");
        var etag = await state.SaveAsync(key, buffer.ToArray(), options, cancellationToken).ConfigureAwait(false);
        request.HttpContext.Response.Headers.ETag = Quote(etag);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(string key, HttpRequest request, IStateStore state, CancellationToken cancellationToken) =>
        await state.DeleteAsync(key, Unquote(request.Headers.IfMatch.ToString()), cancellationToken).ConfigureAwait(false)
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    private static string Quote(string etag) => $"\"{etag}\"";

    private static string? Unquote(string header) => string.IsNullOrWhiteSpace(header) ? null : header.Trim().Trim('"');
}

/// <summary>A page of state keys, shaped like every other list of the API: pass <paramref name="NextCursor"/> back as <c>cursor</c>.</summary>
public sealed record StateKeysPage(IReadOnlyList<string> Keys, string? NextCursor);
