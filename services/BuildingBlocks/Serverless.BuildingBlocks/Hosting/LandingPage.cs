using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>GET /: what runs in this host — modules, their endpoints, and readiness — as one plain HTML page.</summary>
internal static class LandingPage
{
    public static async Task<IResult> RenderAsync(
        IEnumerable<ModuleDescriptor> modules, EndpointDataSource endpoints, HealthCheckService health, ServerlessOptions options, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains("ready"), cancellationToken).ConfigureAwait(false);
        var routes = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Route: "/" + (e.RoutePattern.RawText ?? string.Empty).TrimStart('/'), Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []))
            .Where(e => e.Methods.Count > 0)
            .OrderBy(e => e.Route, StringComparer.Ordinal)
            .ToList();

        var html = new StringBuilder();
        var enc = HtmlEncoder.Default;
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Serverless</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}code{background:#f3f3f3;padding:0 .3em}")
            .Append("table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}")
            .Append(".Healthy{color:#1a7f37}.Degraded{color:#9a6700}.Unhealthy{color:#cf222e}</style></head><body>")
            .Append("<h1>Serverless</h1><p>Profile <b>").Append(enc.Encode(options.Profile.ToString().ToLowerInvariant()))
            .Append("</b> · readiness <b class=\"").Append(report.Status).Append("\">").Append(report.Status).Append("</b>")
            .Append(" · <a href=\"/swagger\">Swagger UI</a> · <a href=\"/openapi/v1.json\">OpenAPI</a> · <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a></p>")
            .Append("<p>Management endpoints need <code>Authorization: Bearer &lt;api key&gt;</code>; the first admin key is in <code>")
            .Append(enc.Encode(Path.Combine(options.DataDirectory, "admin.key"))).Append("</code>.</p>");

        html.Append("<h2>Readiness</h2><table><tr><th>check</th><th>status</th><th>detail</th></tr>");
        foreach (var (name, entry) in report.Entries)
        {
            html.Append("<tr><td>").Append(enc.Encode(name)).Append("</td><td class=\"").Append(entry.Status).Append("\">").Append(entry.Status)
                .Append("</td><td>").Append(enc.Encode(entry.Description ?? string.Empty)).Append("</td></tr>");
        }

        html.Append("</table><h2>Modules</h2>");
        var ordered = modules.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

        // Each route is listed once, under the module with the longest prefix it starts with (the platform's /api/
        // would otherwise list every module's routes again).
        ModuleDescriptor? Owner(string route) => ordered.Where(m => m.MatchLength(route) >= 0).MaxBy(m => m.MatchLength(route));
        foreach (var module in ordered)
        {
            html.Append("<h3>").Append(enc.Encode(module.Name)).Append("</h3><p>").Append(enc.Encode(module.Description)).Append("</p><table><tr><th>method</th><th>route</th></tr>");
            foreach (var (route, methods) in routes.Where(r => ReferenceEquals(Owner(r.Route), module)))
            {
                html.Append("<tr><td>").Append(enc.Encode(string.Join(", ", methods))).Append("</td><td><code>").Append(enc.Encode(route)).Append("</code></td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("</body></html>");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8");
    }
}
