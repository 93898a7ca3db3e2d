using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// <c>steps.*</c> of an <see cref="ExpressionContext"/> read straight from a run's step states: a step's
/// <see cref="StepContext"/> is made when an expression looks it up, instead of a copy of every step of the run each
/// time a context is built (a runner holds its step's context for the whole attempt).
/// </summary>
internal sealed class StepContextView(IReadOnlyDictionary<string, StepRun> steps) : IReadOnlyDictionary<string, StepContext>
{
    public int Count => steps.Count;

    public IEnumerable<string> Keys => steps.Keys;

    public IEnumerable<StepContext> Values => steps.Values.Select(Of);

    public StepContext this[string key] => Of(steps[key]);

    public bool ContainsKey(string key) => steps.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StepContext value)
    {
        if (steps.TryGetValue(key, out var step))
        {
            value = Of(step);
            return true;
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, StepContext>> GetEnumerator() =>
        steps.Select(p => new KeyValuePair<string, StepContext>(p.Key, Of(p.Value))).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static StepContext Of(StepRun step) => new(step.Status.ToExpressionText(), step.Outputs);
}
