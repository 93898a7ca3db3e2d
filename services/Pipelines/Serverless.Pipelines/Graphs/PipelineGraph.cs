using System.Globalization;
using System.Text;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Graphs;

/// <summary>A run (or a definition before any run) as nodes and edges, and as a Mermaid flowchart coloured by state.</summary>
public sealed record PipelineGraph(IReadOnlyList<GraphNode> Nodes, IReadOnlyList<GraphEdge> Edges)
{
    // Colours follow the usual CI palette, so a glance at a rendered graph reads like a pipeline page.
    private static readonly (StepStatus Status, string Style)[] ClassDefinitions =
    [
        (StepStatus.Waiting, "fill:#f6f8fa,stroke:#8c959f,color:#57606a"),
        (StepStatus.Queued, "fill:#fff8c5,stroke:#d4a72c,color:#7d4e00"),
        (StepStatus.Running, "fill:#ddf4ff,stroke:#0969da,color:#0a3069"),
        (StepStatus.AwaitingApproval, "fill:#fbefff,stroke:#8250df,color:#512a97"),
        (StepStatus.Succeeded, "fill:#dafbe1,stroke:#1a7f37,color:#116329"),
        (StepStatus.Failed, "fill:#ffebe9,stroke:#cf222e,color:#a40e26"),
        (StepStatus.Skipped, "fill:#eaeef2,stroke:#afb8c1,color:#6e7781,stroke-dasharray:4 2"),
        (StepStatus.Cancelled, "fill:#eaeef2,stroke:#57606a,color:#24292f"),
    ];

    public static PipelineGraph From(PipelineDefinition definition, RunState? run = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var nodes = definition.AllSteps.Select(s =>
        {
            var state = run?.Steps.GetValueOrDefault(s.Id);
            return new GraphNode(s.Id, s.Kind, state?.DisplayStatus ?? StepStatus.Waiting, definition.IsFinally(s.Id), state?.Attempts.Count ?? 0);
        }).ToList();
        var edges = definition.AllSteps.SelectMany(s => s.Needs.Select(n => new GraphEdge(n, s.Id))).ToList();
        return new PipelineGraph(nodes, edges);
    }

    /// <summary>
    /// A Mermaid <c>flowchart LR</c>. Node ids are generated (<c>s0</c>, <c>s1</c>...) because step ids may hold
    /// '-', which Mermaid reads as part of an arrow; the step id is the label. Finally steps sit in a subgraph.
    /// </summary>
    public string ToMermaid()
    {
        var ids = Nodes.Select((n, i) => (n.Id, Key: string.Create(CultureInfo.InvariantCulture, $"s{i}"))).ToDictionary(p => p.Id, p => p.Key, StringComparer.Ordinal);
        var text = new StringBuilder("flowchart LR\n");
        foreach (var node in Nodes.Where(n => !n.IsFinally))
        {
            AppendNode(text, node, ids[node.Id], "  ");
        }

        if (Nodes.Any(n => n.IsFinally))
        {
            text.Append("  subgraph finally\n");
            foreach (var node in Nodes.Where(n => n.IsFinally))
            {
                AppendNode(text, node, ids[node.Id], "    ");
            }

            text.Append("  end\n");
        }

        foreach (var edge in Edges.Where(e => ids.ContainsKey(e.From) && ids.ContainsKey(e.To)))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {ids[edge.From]} --> {ids[edge.To]}\n");
        }

        foreach (var (status, style) in ClassDefinitions)
        {
            text.Append(CultureInfo.InvariantCulture, $"  classDef {ClassName(status)} {style}\n");
        }

        return text.ToString();
    }

    private static void AppendNode(StringBuilder text, GraphNode node, string key, string indent)
    {
        var label = Escape(node.Id) + "<br/>" + node.Kind + " · " + node.Status.ToExpressionText().Replace('_', ' ');
        if (node.Attempts > 1)
        {
            label += string.Create(CultureInfo.InvariantCulture, $" ({node.Attempts} attempts)");
        }

        text.Append(CultureInfo.InvariantCulture, $"{indent}{key}[\"{label}\"]:::{ClassName(node.Status)}\n");
    }

    private static string ClassName(StepStatus status) => status.ToExpressionText().Replace("_", string.Empty, StringComparison.Ordinal);

    private static string Escape(string text) => text.Replace("\"", "#quot;", StringComparison.Ordinal).Replace("<", "#lt;", StringComparison.Ordinal).Replace(">", "#gt;", StringComparison.Ordinal);
}
