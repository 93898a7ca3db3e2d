using Serverless.Pipelines.Definitions;

namespace Serverless.Pipelines.Graphs;

/// <summary>
/// The dependency structure of a definition's steps (normal and finally): cycles, upstream closures (what a
/// step transitively needs) and downstream closures (what transitively needs a step), used by validation,
/// <c>failure()</c>, retry and rerun-from. Unknown ids in needs are ignored here; validation reports them.
/// </summary>
public static class StepGraph
{
    /// <summary>Direct dependents: id → steps whose needs name it.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Dependents(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var result = definition.AllSteps.Select(s => s.Id).Distinct(StringComparer.Ordinal).ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var step in definition.AllSteps)
        {
            foreach (var need in step.Needs.Distinct(StringComparer.Ordinal))
            {
                if (result.TryGetValue(need, out var list) && !list.Contains(step.Id))
                {
                    list.Add(step.Id);
                }
            }
        }

        return result.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>Every step's transitive needs (not including itself, unless it is on a cycle).</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> UpstreamClosures(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var needs = NeedsById(definition);
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var id in needs.Keys)
        {
            result[id] = Reach(id, id => needs.GetValueOrDefault(id) ?? []);
        }

        return result;
    }

    /// <summary><paramref name="roots"/> and every step that transitively needs one of them.</summary>
    public static IReadOnlySet<string> DownstreamClosure(PipelineDefinition definition, IEnumerable<string> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var dependents = Dependents(definition);
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            result.Add(root);
            result.UnionWith(Reach(root, id => dependents.GetValueOrDefault(id) ?? []));
        }

        return result;
    }

    /// <summary>One cycle per strongly connected group of steps, each as the ids along it, starting at the group's first step in document order.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> FindCycles(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var needs = NeedsById(definition);
        var order = needs.Keys.ToList();
        var upstream = UpstreamClosures(definition);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<IReadOnlyList<string>>();
        foreach (var id in order)
        {
            if (reported.Contains(id) || !upstream[id].Contains(id))
            {
                continue;
            }

            // The group: steps that are both upstream and downstream of id. Walk needs inside it from id until
            // a step repeats; the walk is a cycle because every member reaches every other.
            var group = order.Where(other => other == id || (upstream[id].Contains(other) && upstream[other].Contains(id))).ToHashSet(StringComparer.Ordinal);
            reported.UnionWith(group);
            var path = new List<string> { id };
            var current = id;
            while (true)
            {
                current = needs[current].First(group.Contains);
                var seenAt = path.IndexOf(current);
                if (seenAt >= 0)
                {
                    cycles.Add(path.Skip(seenAt).ToList());
                    break;
                }

                path.Add(current);
            }
        }

        return cycles;
    }

    private static Dictionary<string, IReadOnlyList<string>> NeedsById(PipelineDefinition definition)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var step in definition.AllSteps)
        {
            result.TryAdd(step.Id, step.Needs);
        }

        return result.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value.Where(result.ContainsKey).ToList(), StringComparer.Ordinal);
    }

    private static HashSet<string> Reach(string start, Func<string, IEnumerable<string>> next)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(next(start));
        while (stack.Count > 0)
        {
            var id = stack.Pop();
            if (seen.Add(id))
            {
                foreach (var following in next(id))
                {
                    stack.Push(following);
                }
            }
        }

        return seen;
    }
}
