namespace Serverless.Pipelines.Parsing;

public enum PipelineFormat
{
    Yaml,
    Json,
}
