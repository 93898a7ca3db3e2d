using Serverless.BuildingBlocks.Sqlite;

namespace BuildingBlocks.Tests.State;

/// <summary>Queues writes while the database's writer is held inside another write, so that they form one group.</summary>
internal static class HeldWriter
{
    public static async Task<T> QueueOneGroupAsync<T>(SqliteDatabase database, Func<T> queue)
    {
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = database.WriteAsync(_ =>
        {
            held.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return 0;
        });
        Assert.True(held.Wait(TimeSpan.FromSeconds(30)));
        T queued;
        try
        {
            queued = queue();
        }
        finally
        {
            release.Set();
        }

        await holder.WaitAsync(TimeSpan.FromSeconds(30));
        return queued;
    }
}
