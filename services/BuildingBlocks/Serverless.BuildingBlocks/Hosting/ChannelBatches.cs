using System.Threading.Channels;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>The group-commit loops' common step: take what is queued now as the next batch.</summary>
internal static class ChannelBatches
{
    /// <summary>
    /// Adds to <paramref name="batch"/> up to <paramref name="max"/> items that are queued right now, leaving out those
    /// <paramref name="cancelled"/> reports (it settles them as cancelled). Returns the batch's size.
    /// </summary>
    public static int TakeBatch<T>(this ChannelReader<T> reader, List<T> batch, int max, Func<T, bool> cancelled)
    {
        while (batch.Count < max && reader.TryRead(out var item))
        {
            if (!cancelled(item))
            {
                batch.Add(item);
            }
        }

        return batch.Count;
    }
}
