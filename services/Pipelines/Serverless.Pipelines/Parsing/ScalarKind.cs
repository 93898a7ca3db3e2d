namespace Serverless.Pipelines.Parsing;

internal enum ScalarKind
{
    Null,
    Text,
    Number,
    Boolean,
}
