using Serverless.BuildingBlocks.Hosting;

// The main job: every module in one process on the embedded profile (or distributed, by configuration).
var builder = WebApplication.CreateBuilder(args);
builder.AddAppDirectorySettings();
builder.AddBuildingBlocks();

var app = builder.Build();
app.MapBuildingBlocks();
app.Run();

/// <summary>Lets integration tests start this host with WebApplicationFactory.</summary>
public partial class Program;
