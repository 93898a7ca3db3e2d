using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Parsing;

/// <summary>
/// Reads a pipeline document (YAML or JSON, same shape) into a <see cref="PipelineDefinition"/> and validates it.
/// Shape problems and semantic problems come back together, each with its path and, when known, its line.
/// </summary>
public static class PipelineParser
{
    public static PipelineParseResult ParseYaml(string yaml) => Parse(yaml, PipelineFormat.Yaml);

    public static PipelineParseResult ParseJson(string json) => Parse(json, PipelineFormat.Json);

    /// <param name="text">The document.</param>
    /// <param name="format">YAML or JSON.</param>
    /// <param name="publishTopics">Which topics publish steps may post to; <see cref="PublishTopicPolicy.Default"/> when null.</param>
    public static PipelineParseResult Parse(string text, PipelineFormat format, PublishTopicPolicy? publishTopics = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        DocNode root;
        try
        {
            root = format == PipelineFormat.Yaml ? YamlDocumentReader.Read(text) : JsonDocumentReader.Read(text);
        }
        catch (DocumentSyntaxException ex)
        {
            return new PipelineParseResult(null, [new PipelineProblem("$", ex.Message) { Line = ex.Line, Column = ex.Column }]);
        }

        var reader = new DefinitionReader();
        var definition = reader.Read(root);
        var problems = reader.Problems.ToList();
        if (definition is not null)
        {
            // Semantic problems know paths but not lines; borrow the line of the nearest remembered path.
            // A problem the reader already reported (a missing "run" is "required" to both) is reported once.
            var read = problems.Select(p => (p.Path, p.Message)).ToHashSet();
            problems.AddRange(PipelineValidator.Validate(definition, publishTopics).Where(p => !read.Contains((p.Path, p.Message))).Select(p => Locate(p, reader.Locations)));
        }

        var documentName = string.IsNullOrEmpty(definition?.Name) ? null : definition.Name;
        return (problems.Count == 0 ? new PipelineParseResult(definition, problems) : new PipelineParseResult(null, problems)) with { DocumentName = documentName };
    }

    private static PipelineProblem Locate(PipelineProblem problem, IReadOnlyDictionary<string, DocNode> locations)
    {
        var path = problem.Path;
        while (path.Length > 0)
        {
            if (locations.TryGetValue(path, out var node) && node.Line > 0)
            {
                return problem with { Line = node.Line, Column = node.Column };
            }

            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            path = cut > 0 ? path[..cut] : string.Empty;
        }

        return problem;
    }
}
