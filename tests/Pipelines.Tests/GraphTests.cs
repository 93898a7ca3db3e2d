using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class GraphTests
{
    [Fact]
    public void Nodes_and_edges_carry_the_run_state()
    {
        var run = new RunDriver(Diamond([Script("cleanup")]));
        run.Start();
        run.Pass("a");
        run.Crash("b");

        var graph = PipelineGraph.From(run.Machine.Definition, run.State);
        Assert.Equal(
            [
                new GraphNode("a", "script", StepStatus.Succeeded, false, 1),
                new GraphNode("b", "script", StepStatus.Failed, false, 1),
                new GraphNode("c", "script", StepStatus.Queued, false, 1),
                new GraphNode("d", "script", StepStatus.Waiting, false, 0),
                new GraphNode("cleanup", "script", StepStatus.Waiting, true, 0),
            ],
            graph.Nodes);
        Assert.Equal([new GraphEdge("a", "b"), new GraphEdge("a", "c"), new GraphEdge("b", "d"), new GraphEdge("c", "d")], graph.Edges);
    }

    [Fact]
    public void Mermaid_flowchart_colours_nodes_by_state()
    {
        var definition = Pipeline([Script("build"), Script("deploy-prod", "build") with { When = "false" }], [Script("cleanup")]);
        var run = new RunDriver(definition);
        run.Start();
        run.Crash("build");

        var mermaid = PipelineGraph.From(definition, run.State).ToMermaid();
        Assert.Equal(
            """
            flowchart LR
              s0["build<br/>script · failed"]:::failed
              s1["deploy-prod<br/>script · skipped"]:::skipped
              subgraph finally
                s2["cleanup<br/>script · queued"]:::queued
              end
              s0 --> s1
              classDef waiting fill:#f6f8fa,stroke:#8c959f,color:#57606a
              classDef queued fill:#fff8c5,stroke:#d4a72c,color:#7d4e00
              classDef running fill:#ddf4ff,stroke:#0969da,color:#0a3069
              classDef awaitingapproval fill:#fbefff,stroke:#8250df,color:#512a97
              classDef succeeded fill:#dafbe1,stroke:#1a7f37,color:#116329
              classDef failed fill:#ffebe9,stroke:#cf222e,color:#a40e26
              classDef skipped fill:#eaeef2,stroke:#afb8c1,color:#6e7781,stroke-dasharray:4 2
              classDef cancelled fill:#eaeef2,stroke:#57606a,color:#24292f

            """.ReplaceLineEndings("\n"),
            mermaid);
    }
}
