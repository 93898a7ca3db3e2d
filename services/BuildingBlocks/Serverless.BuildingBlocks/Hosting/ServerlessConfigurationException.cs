namespace Serverless.BuildingBlocks.Hosting;

/// <summary>Start-up fails with this when configuration is wrong or a server it names is unreachable.</summary>
public sealed class ServerlessConfigurationException(string setting, string problem, Exception? inner = null)
    : Exception($"Configuration setting '{setting}': {problem}", inner)
{
    public string Setting { get; } = setting;
}
