using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.PubSub;

namespace Integration.Tests;

/// <summary>HTTP → published event → handler on the embedded profile, in one trace.</summary>
public sealed class EventFlowTests : IAsyncLifetime
{
    private readonly Recording _recording = new();
    private readonly LocalHost _host;

    public EventFlowTests() => _host = new LocalHost(services: s =>
    {
        s.AddSingleton(_recording);
        s.AddSingleton(new HostName("a"));
        s.AddTopic("test.events", "events the integration tests publish");
        s.AddSubscription<RecordingHandler>("test.events", "tests.recorder");
    });

    public ValueTask InitializeAsync()
    {
        _ = _host.Server;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_event_published_over_http_reaches_its_handler_in_the_callers_trace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events/test.events")
        {
            Content = new StringContent("""{"specversion":"1.0","id":"flow-1","source":"/tests","type":"test.event","data":{"x":1}}""", Encoding.UTF8, "application/cloudevents+json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        var response = await _host.CreateClient(_host.AdminKey).SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        await Recording.WaitUntilAsync(() => _recording.Events.Any(e => e.EventId == "flow-1"), TimeSpan.FromSeconds(15), "the handler");
        Assert.Equal(traceId.ToString(), _recording.Events.Single(e => e.EventId == "flow-1").TraceId);
    }

    [Fact]
    public async Task Malformed_events_and_wrong_media_types_are_refused_with_field_paths()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var missingId = await admin.PostAsync("/api/events/test.events", new StringContent("""{"specversion":"1.0","source":"/tests","type":"t"}""", Encoding.UTF8, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.BadRequest, missingId.StatusCode);
        Assert.Contains("\"errors\"", await missingId.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var notJson = await admin.PostAsync("/api/events/test.events", new StringContent("{nope", Encoding.UTF8, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);

        var text = await admin.PostAsync("/api/events/test.events", new StringContent("hello", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Empty(_recording.Events);
    }
}
