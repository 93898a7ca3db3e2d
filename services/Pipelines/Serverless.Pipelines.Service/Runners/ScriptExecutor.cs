using System.Diagnostics;
using System.Globalization;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Runs a script step: <c>/bin/sh -c</c> with the command text exactly as written. Values reach the script only as
/// environment variables (the step's <c>env</c> templates, rendered), never by text substitution, so a parameter
/// such as <c>"; touch /tmp/pwned #</c> stays data. The host's own environment (connection strings...) is not
/// inherited. Outputs are <c>name=value</c> lines the script writes to <c>$PIPELINE_OUTPUT</c>.
/// </summary>
public sealed class ScriptExecutor(RunnerOptions options)
{
    public async Task<StepExecution> RunAsync(ScriptStep spec, StepWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(work);
        var runDirectory = Path.GetFullPath(Path.Combine(options.WorkDirectory, "runs", work.Run.RunId));
        var directory = spec.WorkingDirectory is null ? runDirectory : Path.GetFullPath(Path.Combine(runDirectory, spec.WorkingDirectory));
        if (!directory.StartsWith(runDirectory, StringComparison.Ordinal))
        {
            return StepExecution.Failed($"workingDirectory '{spec.WorkingDirectory}' leaves the run's directory");
        }

        Directory.CreateDirectory(directory);
        var outputFile = Path.Combine(runDirectory, string.Create(CultureInfo.InvariantCulture, $".outputs-{work.StepId}-{work.Attempt}"));
        File.WriteAllText(outputFile, string.Empty);

        var start = new ProcessStartInfo(spec.Shell ?? "/bin/sh")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(spec.Run);
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        start.Environment["HOME"] = runDirectory;
        start.Environment["LANG"] = "C.UTF-8";
        foreach (var (name, template) in spec.Env)
        {
            start.Environment[name] = TemplateString.Render(template, work.Context);
        }

        start.Environment["PIPELINE_RUN_ID"] = work.Run.RunId;
        start.Environment["PIPELINE_NAME"] = work.Run.Pipeline;
        start.Environment["PIPELINE_STEP_ID"] = work.StepId;
        start.Environment["PIPELINE_ATTEMPT"] = work.Attempt.ToString(CultureInfo.InvariantCulture);
        start.Environment["PIPELINE_OUTPUT"] = outputFile;

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                work.Log.WriteLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                work.Log.WriteLine(e.Data);
            }
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(spec.Timeout ?? Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Kill the whole tree: a script's children (sleep, servers it started) must not outlive the step.
            process.Kill(entireProcessTree: true);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                work.Log.WriteLine($"[timed out after {Durations.Format(spec.Timeout!.Value)}; process tree killed]");
                return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.TimedOut, new Dictionary<string, string>(), $"timed out after {Durations.Format(spec.Timeout!.Value)}");
            }

            throw;
        }

        var outputs = ReadOutputs(outputFile);
        return process.ExitCode == 0
            ? StepExecution.Succeeded(outputs)
            : StepExecution.Failed(string.Create(CultureInfo.InvariantCulture, $"exit code {process.ExitCode}"));
    }

    private static Dictionary<string, string> ReadOutputs(string file)
    {
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(file))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                outputs[line[..equals].Trim()] = line[(equals + 1)..];
            }
        }

        return outputs;
    }
}
