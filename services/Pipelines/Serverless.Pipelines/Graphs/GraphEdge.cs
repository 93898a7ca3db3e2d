namespace Serverless.Pipelines.Graphs;

/// <summary><paramref name="From"/> must finish before <paramref name="To"/> (To needs From).</summary>
public sealed record GraphEdge(string From, string To);
