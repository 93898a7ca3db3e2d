using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Webhooks.Inbound;

namespace Serverless.Benchmarks;

/// <summary>
/// The issues' reference points, measured on the day's machine with the same load as the real endpoints, so a speed
/// goal can be read against what this machine does without our code: a bare Kestrel app whose
/// <c>POST /hmac</c> verifies a GitHub signature over the raw body with the platform's <see cref="GitHubVerifier"/> and answers 202 (issue 3: "HMAC verification + 202
/// alone"), whose <c>POST /basket</c> parses the 30-line calculate request and answers a small JSON (issue 5: "plain
/// ASP.NET Core parsing and answering a 30-line basket JSON without any pricing"), and whose
/// <c>POST /basket-large</c> parses it the same way and then writes the bytes of a stored calculate answer
/// (<c>--answer-file</c>), i.e. the HTTP cost of an answer that size without pricing or serialising it.
/// <c>tests/Benchmarks/wrk/anchors.sh</c> drives it with wrk.
/// </summary>
internal static class AnchorServer
{
    private const int MaxBodyBytes = 1024 * 1024;
    private static readonly string[] GitHubHeaders = ["X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"];

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var port = arguments.GetInt("port", 7072);
        var verifier = new GitHubVerifier([arguments.Get("secret", "bench-secret")]);
        var answerFile = arguments.Get("answer-file", string.Empty);
        var largeAnswer = answerFile.Length > 0 ? await File.ReadAllBytesAsync(answerFile) : "{}"u8.ToArray();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();

        app.MapPost("/hmac", async (HttpRequest request) =>
        {
            var body = await ReadBodyAsync(request);
            if (body is null)
            {
                return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            }

            // The platform's own GitHub verifier, given the headers it reads.
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in GitHubHeaders)
            {
                if (request.Headers.TryGetValue(name, out var value))
                {
                    headers[name] = value.ToString();
                }
            }

            return verifier.Verify(headers, body, DateTimeOffset.UtcNow).IsVerified
                ? Results.StatusCode(StatusCodes.Status202Accepted)
                : Results.StatusCode(StatusCodes.Status401Unauthorized);
        });
        app.MapPost("/basket", (AnchorRequest request) => TypedResults.Ok(Summarise(request)));
        app.MapPost("/basket-large", (AnchorRequest request) =>
        {
            _ = Summarise(request);
            return Results.Bytes(largeAnswer, "application/json");
        });

        Console.WriteLine($"anchor server on http://127.0.0.1:{port} (/hmac, /basket, /basket-large with a {largeAnswer.Length}-byte answer); Ctrl+C stops it");
        await app.RunAsync();
        return 0;
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request)
    {
        // The raw bytes through Kestrel's pipe, copied once (a bare app should not be slowed by its own buffers).
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.Buffer.Length > MaxBodyBytes)
            {
                reader.AdvanceTo(result.Buffer.End);
                return null;
            }

            if (result.IsCompleted)
            {
                var body = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return body;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static AnchorAnswer Summarise(AnchorRequest request)
    {
        var lines = request.Basket?.Lines ?? [];
        var subtotal = 0m;
        foreach (var line in lines)
        {
            subtotal += line.UnitPrice * line.Quantity;
        }

        return new AnchorAnswer(request.Basket?.Currency, lines.Count, subtotal);
    }

    internal sealed record AnchorRequest(AnchorBasket? Basket, string? Channel, string? Store, AnchorCustomer? Customer, IReadOnlyList<string>? Coupons);

    internal sealed record AnchorCustomer(string? Id, IReadOnlyList<string>? Segments, string? MemberTier);

    internal sealed record AnchorBasket(string? Currency, decimal ShippingAmount, IReadOnlyList<AnchorLine>? Lines);

    internal sealed record AnchorLine(string? LineId, string? Sku, IReadOnlyList<string>? Categories, string? Brand, IReadOnlyList<string>? Tags, decimal UnitPrice, int Quantity);

    internal sealed record AnchorAnswer(string? Currency, int Lines, decimal Subtotal);
}
