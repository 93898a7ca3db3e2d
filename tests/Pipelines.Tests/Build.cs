namespace Pipelines.Tests;

/// <summary>Short ways to write definitions in tests.</summary>
internal static class Build
{
    public static ScriptStep Script(string id, params string[] needs) => new() { Id = id, Run = $"echo {id}", Needs = needs };

    public static PipelineDefinition Pipeline(IReadOnlyList<StepSpec> steps, IReadOnlyList<StepSpec>? finallySteps = null) =>
        new() { Name = "test", Steps = steps, Finally = finallySteps ?? [] };

    /// <summary>a → b, a → c, b → d, c → d.</summary>
    public static PipelineDefinition Diamond(IReadOnlyList<StepSpec>? finallySteps = null) =>
        Pipeline([Script("a"), Script("b", "a"), Script("c", "a"), Script("d", "b", "c")], finallySteps);
}
