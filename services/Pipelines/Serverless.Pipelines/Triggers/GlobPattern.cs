namespace Serverless.Pipelines.Triggers;

/// <summary>
/// Git-style globs: <c>*</c> and <c>?</c> stay within a path segment, <c>**</c> crosses segments and
/// <c>**/</c> also matches no directory at all (so <c>**/*.md</c> matches <c>README.md</c>). Every other character
/// matches itself (case-sensitive).
/// </summary>
/// <remarks>
/// Matching simulates the pattern's automaton over the text (all live states at once, Thompson style), so it takes
/// at most pattern length × text length steps whatever the input: no backtracking, no timeout, no exception. (It
/// used to be a backtracking regex with a 1 s timeout; one pattern such as <c>**a**a**a**b</c> made every push
/// fail for every pipeline.)
/// </remarks>
public static class GlobPattern
{
    public static bool IsMatch(string pattern, string text)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(text);
        var states = Compile(pattern);
        var current = new bool[states.Count + 1];
        var next = new bool[states.Count + 1];
        Enter(states, current, 0);
        foreach (var c in text)
        {
            Array.Clear(next);
            var any = false;
            for (var s = 0; s < states.Count; s++)
            {
                if (!current[s])
                {
                    continue;
                }

                var state = states[s];
                var target = state.Kind switch
                {
                    StateKind.Literal when c == state.Literal => state.Next,
                    StateKind.OneInSegment when c != '/' => state.Next,
                    StateKind.StarInSegment when c != '/' => s,
                    StateKind.StarAny => s,
                    StateKind.DirectoriesBody when c == '/' => -2, // both: stay and leave
                    StateKind.DirectoriesBody => s,
                    _ => -1,
                };
                if (target == -2)
                {
                    any |= Enter(states, next, s);
                    any |= Enter(states, next, state.Next);
                }
                else if (target >= 0)
                {
                    any |= Enter(states, next, target);
                }
            }

            if (!any)
            {
                return false;
            }

            (current, next) = (next, current);
        }

        return current[states.Count];
    }

    /// <summary>
    /// Include/exclude lists: a <c>!</c> pattern excludes, and the last pattern that matches decides. With only
    /// exclusions, everything else is included; an empty list includes everything.
    /// </summary>
    public static bool MatchesList(IReadOnlyList<string> patterns, string text)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        if (patterns.Count == 0)
        {
            return true;
        }

        var included = patterns.All(p => p.StartsWith('!'));
        foreach (var pattern in patterns)
        {
            var negated = pattern.StartsWith('!');
            if (IsMatch(negated ? pattern[1..] : pattern, text))
            {
                included = !negated;
            }
        }

        return included;
    }

    /// <summary>Marks <paramref name="state"/> live with every state reachable from it without reading a character.</summary>
    private static bool Enter(List<State> states, bool[] live, int state)
    {
        while (true)
        {
            if (live[state])
            {
                return true;
            }

            live[state] = true;
            if (state == states.Count)
            {
                return true;
            }

            switch (states[state].Kind)
            {
                case StateKind.StarInSegment or StateKind.StarAny:
                    state = states[state].Next; // zero characters
                    continue;
                case StateKind.DirectoriesEntry:
                    Enter(states, live, state + 1); // into the body (some directories)...
                    state = states[state].Next; // ...or none at all
                    continue;
                default:
                    return true;
            }
        }
    }

    private static List<State> Compile(string pattern)
    {
        // State i reads (or skips to) State.Next; the accepting state is states.Count.
        var states = new List<State>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                if (i + 2 < pattern.Length && pattern[i + 2] == '/')
                {
                    // "**/": nothing, or anything ending in '/': an entry state and a body that loops until a '/'.
                    states.Add(new State(StateKind.DirectoriesEntry, '\0', states.Count + 2));
                    states.Add(new State(StateKind.DirectoriesBody, '\0', states.Count + 1));
                    i += 2;
                }
                else
                {
                    states.Add(new State(StateKind.StarAny, '\0', states.Count + 1));
                    i += 1;
                }
            }
            else if (c == '*')
            {
                states.Add(new State(StateKind.StarInSegment, '\0', states.Count + 1));
            }
            else if (c == '?')
            {
                states.Add(new State(StateKind.OneInSegment, '\0', states.Count + 1));
            }
            else
            {
                states.Add(new State(StateKind.Literal, c, states.Count + 1));
            }
        }

        return states;
    }

    private enum StateKind
    {
        Literal,
        OneInSegment,
        StarInSegment,
        StarAny,
        DirectoriesEntry,
        DirectoriesBody,
    }

    private readonly record struct State(StateKind Kind, char Literal, int Next);
}
