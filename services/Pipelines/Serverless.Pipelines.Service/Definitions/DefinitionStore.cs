using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.State;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Service.Definitions;

/// <summary>
/// Pipeline documents on the state store. Every save is a new version (<c>pipelines||def||{name}||{version:D10}</c>)
/// and moves the head pointer (<c>pipelines||head||{name}</c>); runs pin the version they started with, so
/// old versions stay readable until the pipeline is deleted.
/// </summary>
/// <remarks><paramref name="publishTopics"/>: which topics publish steps may post to (default <see cref="PublishTopicPolicy.Default"/>).</remarks>
public sealed partial class DefinitionStore(IStateStore state, TimeProvider time, PublishTopicPolicy? publishTopics = null, ILogger<DefinitionStore>? logger = null)
{
    private const string DefinitionPrefix = "pipelines||def||";
    private const string HeadPrefix = "pipelines||head||";

    /// <summary>The last version of a deleted pipeline: a pipeline saved again under its name numbers on from it, so a run's version never names two documents.</summary>
    private const string LastVersionPrefix = "pipelines||last-version||";

    /// <summary>How long the triggers' view of every pipeline's latest version is trusted before it is read again.</summary>
    public static readonly TimeSpan TriggerViewRefreshInterval = TimeSpan.FromSeconds(1);

    private readonly RefreshingView<IReadOnlyList<StoredPipeline>> _forTriggers = new(time, TriggerViewRefreshInterval);

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public async Task<SaveResult> SaveAsync(string name, string text, PipelineFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsValidName(name))
        {
            return new SaveResult(null, [new PipelineProblem("name", "a pipeline name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit")]);
        }

        // The name must agree with the URL's; that problem is reported with the document's own, in one round trip.
        var parsed = PipelineParser.Parse(text, format, publishTopics);
        var problems = parsed.Problems.ToList();
        if (parsed.DocumentName is { } documentName && !string.Equals(documentName, name, StringComparison.Ordinal))
        {
            problems.Insert(0, new PipelineProblem("name", $"the document names the pipeline '{documentName}' but it is saved as '{name}'"));
        }

        if (!parsed.IsValid || problems.Count > 0)
        {
            return new SaveResult(null, problems);
        }

        // Two saves racing for the same version: the head's ETag lets exactly one win; the other takes the next number.
        for (var attempt = 0; ; attempt++)
        {
            var head = await state.GetJsonAsync<PipelineHead>(HeadPrefix + name, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var deletedAt = head is null ? await state.GetJsonAsync<PipelineHead>(LastVersionPrefix + name, cancellationToken).ConfigureAwait(false) : null;
            var version = (head?.Value.Version ?? deletedAt?.Value.Version ?? 0) + 1;
            var stored = new StoredPipeline(name, version, format == PipelineFormat.Yaml ? "yaml" : "json", text, parsed.Definition!, now);
            var transaction = new StateTransaction()
                .Upsert(VersionKey(name, version), Serialize(stored), new StateWriteOptions(OnlyIfAbsent: true))
                .UpsertJson(HeadPrefix + name, new PipelineHead(name, version, now), head is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: head.ETag));
            try
            {
                await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
                _forTriggers.Invalidate();
                return new SaveResult(stored, []);
            }
            catch (ETagMismatchException) when (attempt < 20)
            {
            }
        }
    }

    /// <summary>The latest version, or the given one.</summary>
    public async Task<StoredPipeline?> GetAsync(string name, int? version, CancellationToken cancellationToken)
    {
        if (!IsValidName(name))
        {
            return null;
        }

        if (version is null)
        {
            var head = await state.GetJsonAsync<PipelineHead>(HeadPrefix + name, cancellationToken).ConfigureAwait(false);
            if (head is null)
            {
                return null;
            }

            version = head.Value.Version;
        }

        var item = await state.GetAsync(VersionKey(name, version.Value), cancellationToken).ConfigureAwait(false);
        return item is null ? null : Deserialize(item.Value);
    }

    /// <summary>Deletes the pipeline and every version. Runs in flight keep their own copy of the definition.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!IsValidName(name))
        {
            return false;
        }

        // The head goes and its version number stays behind: runs already listed say "version 3", and a pipeline saved
        // again under this name starts at 4, so no version number ever means two documents. A save racing the delete
        // moves the head's ETag: the delete then takes the new head.
        for (var attempt = 0; ; attempt++)
        {
            if (await state.GetJsonAsync<PipelineHead>(HeadPrefix + name, cancellationToken).ConfigureAwait(false) is not { } head)
            {
                return false;
            }

            try
            {
                await state.TransactAsync(
                    new StateTransaction().Delete(HeadPrefix + name, head.ETag).UpsertJson(LastVersionPrefix + name, head.Value),
                    cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (ETagMismatchException) when (attempt < 20)
            {
            }
        }

        _forTriggers.Invalidate();

        string? token = null;
        do
        {
            var page = await state.ListKeysAsync(DefinitionPrefix + name + StateKeys.Separator, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction();
            foreach (var key in page.Keys)
            {
                transaction.Delete(key);
            }

            if (page.Keys.Count > 0)
            {
                await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return true;
    }

    public async Task<(IReadOnlyList<PipelineHead> Items, string? NextCursor)> ListAsync(int limit, string? cursor, CancellationToken cancellationToken)
    {
        var page = await state.GetJsonPageAsync<PipelineHead>(HeadPrefix, limit, cursor, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (page.Items, page.NextCursor);
    }

    /// <summary>
    /// Every pipeline's latest version as the triggers see it: read at most once per
    /// <see cref="TriggerViewRefreshInterval"/> (a push used to read every definition), and at once after a save or
    /// delete through this instance; a change made on another instance reaches this one's triggers within the interval.
    /// </summary>
    public Task<IReadOnlyList<StoredPipeline>> LatestForTriggersAsync(CancellationToken cancellationToken) => _forTriggers.GetAsync(ReadLatestAsync, cancellationToken);

    private async Task<IReadOnlyList<StoredPipeline>> ReadLatestAsync(CancellationToken cancellationToken)
    {
        var pipelines = new List<StoredPipeline>();
        await foreach (var pipeline in LatestAsync(cancellationToken).ConfigureAwait(false))
        {
            pipelines.Add(pipeline);
        }

        return pipelines;
    }

    /// <summary>
    /// Every pipeline's latest version, read now. A stored version that can no longer be read (e.g. one saved before a
    /// validation rule existed) is skipped with a warning: it must never stop the triggers of every other pipeline.
    /// </summary>
    public async IAsyncEnumerable<StoredPipeline> LatestAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var (heads, next) = await ListAsync(StateKeys.MaxPageSize, cursor, cancellationToken).ConfigureAwait(false);
            var items = await state.GetBulkAsync(heads.Select(h => VersionKey(h.Name, h.Version)).ToList(), cancellationToken).ConfigureAwait(false);
            foreach (var item in items.OrderBy(i => i.Key, StringComparer.Ordinal))
            {
                StoredPipeline pipeline;
                try
                {
                    pipeline = Deserialize(item.Value);
                }
                catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
                {
                    LogUnreadable(logger ?? (ILogger)NullLogger.Instance, item.Key, ex.Message);
                    continue;
                }

                yield return pipeline;
            }

            cursor = next;
        }
        while (cursor is not null);
    }

    private static string VersionKey(string name, int version) =>
        DefinitionPrefix + name + StateKeys.Separator + version.ToString("D10", CultureInfo.InvariantCulture);

    private static byte[] Serialize(StoredPipeline stored) => JsonSerializer.SerializeToUtf8Bytes(stored, PipelineJson.Options);

    private static StoredPipeline Deserialize(ReadOnlyMemory<byte> json) => JsonSerializer.Deserialize<StoredPipeline>(json.Span, PipelineJson.Options)!;

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored pipeline {Key} cannot be read and is skipped by the triggers (save it again to fix it): {Error}")]
    private static partial void LogUnreadable(ILogger logger, string key, string error);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
