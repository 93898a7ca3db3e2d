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
        if (ScriptStep.ResolveWorkingDirectory(runDirectory, spec.WorkingDirectory) is not { } directory)
        {
            return StepExecution.Failed($"workingDirectory '{spec.WorkingDirectory}' leaves the run's directory");
        }

        Directory.CreateDirectory(directory);
        var outputFile = Path.Combine(runDirectory, string.Create(CultureInfo.InvariantCulture, $".outputs-{work.StepId}-{work.Attempt}"));
        File.WriteAllText(outputFile, string.Empty);

        // In a session (and process group) of its own where the platform allows, so everything the script starts,
        // backgrounded children included, can be found and killed when the step ends, even after the shell exited.
        var shell = spec.Shell ?? "/bin/sh";
        var start = new ProcessStartInfo(ProcessGroups.Setsid ?? shell)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (ProcessGroups.Setsid is not null)
        {
            start.ArgumentList.Add(shell);
        }

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

        using var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
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
        var group = ProcessGroups.Setsid is null ? (int?)null : process.Id;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = CancelAfterLimit.After(spec.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // The step ends when the shell exits, not when its stdout/stderr reach EOF: a backgrounded child
            // (`server &`) holds them open for as long as it lives.
            await exited.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Kill the whole tree (while it is still one) and the session: a script's children must not outlive the step.
            KillAll(process, group);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await exited.Task.WaitAsync(grace.Token).ConfigureAwait(false);
            await DrainAsync(process).ConfigureAwait(false);
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                work.Log.WriteLine($"[timed out after {Durations.Format(spec.Timeout!.Value)}; process tree killed]");
                return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.TimedOut, new Dictionary<string, string>(), $"timed out after {Durations.Format(spec.Timeout!.Value)}");
            }

            throw;
        }

        // The script is done: whatever it left running in its session goes with it, then the rest of its output is read.
        KillAll(process, group);
        await DrainAsync(process).ConfigureAwait(false);
        // Refused unread when larger than the cap: what it holds (names and values) is never more than the file.
        if (Serverless.Pipelines.Runs.StepOutputLimit.FileProblem(new FileInfo(outputFile).Length, options.MaxOutputBytes) is { } tooLarge)
        {
            return StepExecution.Failed(tooLarge);
        }

        var outputs = ReadOutputs(outputFile);
        return process.ExitCode == 0
            ? StepExecution.Succeeded(outputs)
            : new StepExecution(Serverless.Pipelines.Runs.StepOutcome.Failed, outputs, string.Create(CultureInfo.InvariantCulture, $"exit code {process.ExitCode}"));
    }

    private static void KillAll(Process process, int? group)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile: its session is killed below.
        }

        if (group is { } session)
        {
            ProcessGroups.KillSession(session);
        }
    }

    /// <summary>
    /// Reads what is left in the pipes once the session is gone; bounded, since a process that left the session on
    /// purpose (its own <c>setsid</c>) may still hold them.
    /// </summary>
    private static async Task DrainAsync(Process process)
    {
        using var drain = new CancellationTokenSource(DrainTime);
        try
        {
            await process.WaitForExitAsync(drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Output still held open by an escaped process: the step's result does not wait for it.
        }
    }

    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(2);

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
