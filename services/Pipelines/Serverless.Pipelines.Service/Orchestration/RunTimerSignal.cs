using Serverless.BuildingBlocks.State;

namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>Wakes the timer service when this process stored a timer, so short waits and retry delays do not wait for the poll.</summary>
public sealed class RunTimerSignal : WakeSignal;
