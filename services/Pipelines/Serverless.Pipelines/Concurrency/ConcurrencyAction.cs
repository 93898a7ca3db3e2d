namespace Serverless.Pipelines.Concurrency;

public enum ConcurrencyAction
{
    /// <summary>The lane is free: start the new run.</summary>
    StartNow,

    /// <summary>A run is in progress: the new run waits, replacing (cancelling) any older pending run.</summary>
    Pending,

    /// <summary>cancelInProgress: cancel the running (and pending) runs; the new run waits until they have stopped.</summary>
    CancelInProgress,
}
