namespace Serverless.Benchmarks;

internal static class PubSubBenchmark
{
    public static Task<int> RunAsync(BenchmarkArguments arguments)
    {
        Console.Error.WriteLine("pubsub benchmark: lands with the pub/sub building block");
        return Task.FromResult(1);
    }
}
