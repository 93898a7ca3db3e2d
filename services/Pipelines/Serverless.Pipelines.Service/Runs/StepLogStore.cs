using System.Globalization;
using System.Text;
using Serverless.BuildingBlocks.State;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>
/// Step logs in state chunks (<c>pipelines||log||{run}||{step}||{attempt:D4}||{seq:D6}</c>), written as output arrives
/// so a follower sees it live; the runner caps the total, so a chatty script cannot fill the store.
/// </summary>
public sealed class StepLogStore(IStateStore state)
{
    private const string Prefix = "pipelines||log||";

    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    public Task AppendAsync(string runId, string stepId, int attempt, int sequence, string text, CancellationToken cancellationToken) =>
        state.SaveAsync(ChunkKey(runId, stepId, attempt, sequence), Encoding.UTF8.GetBytes(text), new StateWriteOptions(Ttl: Retention), cancellationToken);

    /// <summary>The chunks from <paramref name="fromSequence"/> on, and the sequence number to read from next time.</summary>
    public async Task<(string Text, int NextSequence)> ReadAsync(string runId, string stepId, int attempt, int fromSequence, CancellationToken cancellationToken)
    {
        var prefix = AttemptPrefix(runId, stepId, attempt);
        var text = new StringBuilder();
        var next = fromSequence;
        string? token = null;
        do
        {
            var page = await state.ListKeysAsync(prefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            var wanted = page.Keys.Where(k => Sequence(k) >= fromSequence).ToList();
            foreach (var item in (await state.GetBulkAsync(wanted, cancellationToken).ConfigureAwait(false)).OrderBy(i => i.Key, StringComparer.Ordinal))
            {
                text.Append(Encoding.UTF8.GetString(item.Value.Span));
                next = Math.Max(next, Sequence(item.Key) + 1);
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return (text.ToString(), next);
    }

    private static int Sequence(string key) => int.Parse(key.AsSpan(key.LastIndexOf(StateKeys.Separator, StringComparison.Ordinal) + StateKeys.Separator.Length), CultureInfo.InvariantCulture);

    private static string AttemptPrefix(string runId, string stepId, int attempt) =>
        Prefix + runId + StateKeys.Separator + stepId + StateKeys.Separator + attempt.ToString("D4", CultureInfo.InvariantCulture) + StateKeys.Separator;

    private static string ChunkKey(string runId, string stepId, int attempt, int sequence) =>
        AttemptPrefix(runId, stepId, attempt) + sequence.ToString("D6", CultureInfo.InvariantCulture);
}
