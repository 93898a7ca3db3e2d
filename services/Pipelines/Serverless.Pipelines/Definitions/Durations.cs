using System.Globalization;
using System.Text;

namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Durations as people write them in pipelines: "500ms", "30s", "5m", "1h30m", "2d". A duration is a whole number of
/// milliseconds between 0 and <see cref="Maximum"/> (30 days): anything finer could not be stored and read back,
/// anything longer would overflow timers and dates downstream (a script's timeout, a wait's due time).
/// <see cref="Format"/> writes every value <see cref="TryParse"/> accepts so that it reads back exactly.
/// </summary>
public static class Durations
{
    /// <summary>The longest duration a pipeline may give (timeouts, waits, approval timeouts, backoffs, pauses).</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromDays(30);

    /// <summary>What a duration may be, for messages.</summary>
    public const string Rule = "a whole number of milliseconds, at most 30d";

    /// <summary>The problem of a text that is no duration at all (as opposed to one out of range).</summary>
    public const string NotADuration = "not a duration such as \"30s\", \"5m\" or \"1h30m\"";

    public static bool TryParse(string? text, out TimeSpan duration) => Parse(text, Maximum, out duration) is null;

    /// <summary>One parse that gives the duration, or why <paramref name="text"/> is not one (<see cref="NotADuration"/> or a range problem).</summary>
    public static bool TryParse(string? text, out TimeSpan duration, out string? problem)
    {
        problem = Parse(text, Maximum, out duration);
        return problem is null;
    }

    /// <summary>Why <paramref name="text"/> is not a duration, or null when it is.</summary>
    public static string? Problem(string? text) => Parse(text, Maximum, out _);

    /// <summary>
    /// Reads a duration from stored JSON (definitions, and the copy a run keeps): any whole number of milliseconds a
    /// TimeSpan holds, so a definition or run stored before <see cref="Maximum"/> existed stays readable. Documents
    /// being saved go through <see cref="TryParse"/>.
    /// </summary>
    public static bool TryReadStored(string? text, out TimeSpan duration) => Parse(text, TimeSpan.MaxValue, out duration) is null;

    /// <summary>Whether <paramref name="duration"/> is one <see cref="TryParse"/> can return.</summary>
    public static bool IsValid(TimeSpan duration) => IsWholeMilliseconds(duration) && duration <= Maximum;

    /// <summary>Whether <paramref name="duration"/> is a whole, non-negative number of milliseconds (what can be written and read back).</summary>
    public static bool IsWholeMilliseconds(TimeSpan duration) => duration >= TimeSpan.Zero && duration.Ticks % TimeSpan.TicksPerMillisecond == 0;

    private static string? Parse(string? text, TimeSpan maximum, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return NotADuration;
        }

        var span = text.Trim();
        var i = 0;
        var milliseconds = 0m;
        while (i < span.Length)
        {
            var start = i;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '.'))
            {
                i++;
            }

            if (start == i || !decimal.TryParse(span.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                // A number too large even for decimal is still a number: say what is wrong with it.
                return start < i && double.TryParse(span.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)
                    ? $"longer than the maximum of {Format(Maximum)}"
                    : NotADuration;
            }

            var unitStart = i;
            while (i < span.Length && char.IsAsciiLetter(span[i]))
            {
                i++;
            }

            decimal unit;
            switch (span[unitStart..i])
            {
                case "ms": unit = 1m; break;
                case "s": unit = 1_000m; break;
                case "m": unit = 60_000m; break;
                case "h": unit = 3_600_000m; break;
                case "d": unit = 86_400_000m; break;
                default: return NotADuration;
            }

            // Checked: decimal arithmetic throws on overflow rather than wrapping; each part is bounded before adding.
            try
            {
                milliseconds = checked(milliseconds + (amount * unit));
            }
            catch (OverflowException)
            {
                return $"longer than the maximum of {Format(Maximum)}";
            }

            if (milliseconds > Math.Floor((decimal)maximum.TotalMilliseconds))
            {
                return $"longer than the maximum of {Format(Maximum)}";
            }
        }

        if (milliseconds != decimal.Truncate(milliseconds))
        {
            return milliseconds < 1m ? "shorter than 1ms (durations are whole milliseconds)" : "not a whole number of milliseconds";
        }

        duration = TimeSpan.FromMilliseconds((long)milliseconds);
        return null;
    }

    /// <summary>
    /// The shortest text <see cref="TryParse"/> reads back as <paramref name="duration"/>, for every duration it accepts
    /// (<see cref="IsValid"/>). Others (never in a validated definition) are written for people, not to be read back.
    /// </summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        if (!IsWholeMilliseconds(duration))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds}ms");
        }

        var builder = new StringBuilder();
        if (duration.Days > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{duration.Days}d");
        }

        if (duration.Hours > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{duration.Hours}h");
        }

        if (duration.Minutes > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{duration.Minutes}m");
        }

        if (duration.Seconds > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{duration.Seconds}s");
        }

        if (duration.Milliseconds > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{duration.Milliseconds}ms");
        }

        return builder.ToString();
    }
}
