using Serverless.Benchmarks;

// Load drivers for the speed goals in README. Run in Release:
//   dotnet run -c Release --project tests/Benchmarks -- state --engine sqlite|postgres [--writers 8] [--seconds 10]
//   dotnet run -c Release --project tests/Benchmarks -- pubsub --transport inmemory|rabbitmq [--events 200000] [--rate 1000 --seconds 10]
//   dotnet run -c Release --project tests/Benchmarks -- webhooks-out [--profile embedded|distributed] [--endpoints 4] [--events 5000] | [--rate 500 --seconds 10]
//   dotnet run -c Release --project tests/Benchmarks -- promotions-engine [--promotions 10000] [--seconds 10] [--mix retail|heavy] [--compiles K | --recompiles K]
//   dotnet run -c Release --project tests/Benchmarks -- pipelines [--profile embedded|distributed] [--runs 200] [--steps 20] [--width 4] [--kind script|publish|wait|http] [--repeat 1]
//       open loop: [--arrival 25 --warmup 10 --seconds 30 --kind http --step-ms 1600 --slots 1000 --receiver-url http://127.0.0.1:7073] (set DOTNET_gcServer=1 DOTNET_GCDynamicAdaptationMode=0: the host's GC)
//   dotnet run -c Release --project tests/Benchmarks -- slow-receiver [--port 7073] [--step-ms 1000]   (the open loop's step receiver as a process of its own)
//   dotnet run -c Release --project tests/Benchmarks -- promotions-commit [--profile embedded|distributed] [--orders 20000] [--concurrency 64] [--promotions 200] [--hot true]
//   dotnet run -c Release --project tests/Benchmarks -- promotions-refresh [--profile embedded|distributed] [--promotions 10000] [--edits 40]
//   dotnet run -c Release --project tests/Benchmarks -- promotions-calculate-path [--promotions 10000] [--seconds 3]
//   dotnet run -c Release --project tests/Benchmarks -- http-rate --scenario calculate|inbound [--rate 5000] [--seconds 20] [--connections 64] [--url http://127.0.0.1:7071]
//   dotnet run -c Release --project tests/Benchmarks -- anchor-server [--port 7072] [--answer-file answer.json]   (tests/Benchmarks/wrk/anchors.sh drives it)
//   dotnet run -c Release --project tests/Benchmarks -- promotions-seed [--url http://127.0.0.1:7071] [--promotions 10000] [--key-file .data/admin.key] [--out calculate-body.json]
// PostgreSQL / RabbitMQ locations come from SERVERLESS_TEST_POSTGRES / SERVERLESS_TEST_RABBITMQ (tests/servers.sh start).
var arguments = BenchmarkArguments.Parse(args);
return arguments.Command switch
{
    "state" => await StateStoreBenchmark.RunAsync(arguments),
    "pubsub" => await PubSubBenchmark.RunAsync(arguments),
    "webhooks-out" => await OutboundWebhooksBenchmark.RunAsync(arguments),
    "promotions-engine" => await PromotionsEngineBenchmark.RunAsync(arguments),
    "pipelines" => await PipelinesBenchmark.RunAsync(arguments),
    "promotions-commit" => await PromotionsCommitBenchmark.RunAsync(arguments),
    "promotions-refresh" => await PromotionsRefreshBenchmark.RunAsync(arguments),
    "promotions-seed" => await PromotionsSeed.RunAsync(arguments),
    "promotions-calculate-path" => await PromotionsCalculatePathBenchmark.RunAsync(arguments),
    "http-rate" => await HttpRateBenchmark.RunAsync(arguments),
    "anchor-server" => await AnchorServer.RunAsync(arguments),
    "slow-receiver" => await PipelinesBenchmark.RunReceiverAsync(arguments),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Benchmarks state --engine sqlite|postgres [--writers 8] [--seconds 10]");
    Console.Error.WriteLine("       Benchmarks pubsub --transport inmemory|rabbitmq [--events 200000] | [--rate 1000 --seconds 10]");
    Console.Error.WriteLine("       Benchmarks webhooks-out [--endpoints 4] [--events 5000] | [--rate 500 --seconds 10]");
    Console.Error.WriteLine("       Benchmarks promotions-engine [--promotions 10000] [--seconds 10] [--mix retail|heavy] [--compiles K | --recompiles K]");
    Console.Error.WriteLine("       Benchmarks pipelines [--profile embedded|distributed] [--runs 200] [--steps 20] [--width 4] [--kind script|publish|wait|http] [--repeat 1] | [--arrival 25 --warmup 10 --seconds 30 --kind http --step-ms 1600 --slots 1000 --receiver-url http://127.0.0.1:7073]");
    Console.Error.WriteLine("       Benchmarks slow-receiver [--port 7073] [--step-ms 1000]");
    Console.Error.WriteLine("       Benchmarks promotions-commit [--profile embedded|distributed] [--orders 20000] [--concurrency 64] [--promotions 200] [--hot true]");
    Console.Error.WriteLine("       Benchmarks promotions-refresh [--profile embedded|distributed] [--promotions 10000] [--edits 40]");
    Console.Error.WriteLine("       Benchmarks promotions-calculate-path [--promotions 10000] [--seconds 3]");
    Console.Error.WriteLine("       Benchmarks http-rate --scenario calculate|inbound [--rate 5000] [--seconds 20] [--warmup 3] [--connections 64] [--timeline true] [--url http://127.0.0.1:7071] [--key-file .data/admin.key] [--body-file .data/calculate-body.json]");
    Console.Error.WriteLine("       Benchmarks anchor-server [--port 7072] [--secret bench-secret] [--answer-file answer.json]");
    Console.Error.WriteLine("       Benchmarks promotions-seed [--url http://127.0.0.1:7071] [--promotions 10000] [--key-file .data/admin.key] [--out calculate-body.json]");
    return 2;
}
