using Microsoft.Extensions.Logging;

namespace BuildingBlocks.Tests.Timers;

/// <summary>Sends warnings and errors of a test's hosts to the test's output, so a failure shows what the engine said.</summary>
public sealed class TestOutputLoggerProvider(string node) : ILoggerProvider
{
    private readonly ITestOutputHelper? _output = TestContext.Current.TestOutputHelper;

    public ILogger CreateLogger(string categoryName) => new OutputLogger(_output, node, categoryName);

    public void Dispose()
    {
    }

    private sealed class OutputLogger(ITestOutputHelper? output, string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || output is null)
            {
                return;
            }

            try
            {
                output.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} [{node}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.GetType().Name + ": " + exception.Message)}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished; its output is closed.
            }
        }
    }
}
