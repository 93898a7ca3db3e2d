using Serverless.BuildingBlocks.Hosting;
using Serverless.Pipelines.Functions;
using Serverless.Promotions.Functions;
using Serverless.Webhooks.Functions;

// The main job: every module in one process on the embedded profile (or distributed, by configuration).
var builder = ServerlessHost.CreateBuilder(args);
builder.AddBuildingBlocks();
builder.AddWebhooks();
builder.AddPipelines();
builder.AddPromotions();

var app = builder.Build();
app.MapBuildingBlocks();
app.MapWebhooks();
app.MapPipelines();
app.MapPromotions();
app.Run();

/// <summary>Lets integration tests start this host with WebApplicationFactory.</summary>
public partial class Program;
