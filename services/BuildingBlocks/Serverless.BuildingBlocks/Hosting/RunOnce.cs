namespace Serverless.BuildingBlocks.Hosting;

/// <summary>
/// Runs an asynchronous operation once: the first caller starts it, every later or concurrent caller gets the same task.
/// For a hosted service's stop, which a test server calls twice at the same time: a second stop must wait for the
/// first, not run the shutdown again beside it.
/// </summary>
public sealed class RunOnce
{
    private readonly Lock _gate = new();
    private Task? _task;

    public Task Run(Func<Task> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        lock (_gate)
        {
            return _task ??= operation();
        }
    }
}
