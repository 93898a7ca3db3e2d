using System.Globalization;
using System.Text.Json;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Deployments;
using Serverless.Pipelines.Expressions;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Carries out a <see cref="DeployPlanner"/> plan against an HTTP deployment API:
/// <list type="bullet">
/// <item><c>GET deployUrl</c> → <c>{"version", "activeSlot", "instances"}</c>: what runs now (what a rollback restores).</item>
/// <item>every changing operation → <c>POST deployUrl</c> with the operation as JSON (<c>{"op":"deployInstances","instances":[0],"version":"2"}</c>).</item>
/// <item><c>checkHealth</c> → <c>GET healthUrl</c> until 2xx, at most <see cref="RunnerOptions.HealthCheckAttempts"/> times.</item>
/// </list>
/// The URLs are rendered by <see cref="UrlTemplate"/> (values after the scheme and authority percent-encoded). Of the
/// answers only the status is read, except the state from <c>GET deployUrl</c>, JSON of at most
/// <see cref="MaxAnswerBytes"/>: a longer answer fails the step before anything is changed.
/// When an operation fails (an error status, a network error, no answer within the HTTP timeout; for a health check,
/// every attempt), the rollback plan for that point runs and the step fails, saying so, and saying whether the rollback
/// failed too. A deployment API that cannot be read at the start (an error status, a network error) fails the step
/// with nothing changed: what runs now is what a rollback restores. A rolling deploy onto a target that reports no
/// version (nothing ran before) is not rolled back, since there is no version to put back.
/// </summary>
public sealed class DeployExecutor(GuardedHttp http, RunnerOptions options, DeployGates? gates = null)
{
    /// <summary>The most bytes the deployment API's answer to <c>GET deployUrl</c> may hold (1 MiB; it is a few fields of JSON).</summary>
    public const int MaxAnswerBytes = 1024 * 1024;

    /// <summary>How long a rollback may take, within the orchestrator's allowance past a deploy step's timeout.</summary>
    public static readonly TimeSpan RollbackBudget = Serverless.Pipelines.Runs.RunStateMachine.DeployRollbackAllowance - TimeSpan.FromSeconds(5);

    public async Task<StepExecution> RunAsync(DeployStep spec, StepWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(work);
        var deployUrl = new Uri(UrlTemplate.Render(spec.Target.DeployUrl, work.Context));
        var healthUrl = spec.Target.HealthUrl is null ? null : new Uri(UrlTemplate.Render(spec.Target.HealthUrl, work.Context));
        if (spec.Strategy is BlueGreenStrategy { HealthCheck: { } slotHealth })
        {
            healthUrl = new Uri(UrlTemplate.Render(slotHealth, work.Context));
        }

        var headers = spec.Target.Headers.ToDictionary(h => h.Key, h => TemplateString.Render(h.Value, work.Context), StringComparer.OrdinalIgnoreCase);
        var version = TemplateString.Render(spec.Version, work.Context);

        // The step's timeout is enforced here, so a deploy stopped by it rolls back before the step ends (the
        // orchestrator's timer waits RunStateMachine.DeployRollbackAllowance longer, as the backstop).
        using var own = CancelAfterLimit.After(spec.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, own.Token);
        var token = linked.Token;
        var timedOut = () => own.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
        var timeoutText = spec.Timeout is { } t ? $"timed out after {Durations.Format(t)}" : "timed out";
        try
        {
            var (current, unreadable) = await CurrentAsync(deployUrl, headers, token).ConfigureAwait(false);
            if (current is null)
            {
                // What runs now is what a rollback restores: without it the deploy does not start.
                return StepExecution.Failed($"the deployment API could not say what runs now (GET deployUrl answered {unreadable}); nothing was changed");
            }

            if (spec.Strategy is BlueGreenStrategy && UnknownLiveSlot(current) is { } slotProblem)
            {
                // Deploying to the slot taken for idle would replace the live one: the whole point of blue-green.
                return StepExecution.Failed($"the deployment API did not say which slot is live ({slotProblem}; blue-green needs \"blue\" or \"green\" while a version runs), so the idle slot is unknown; nothing was changed");
            }

            var request = new DeployRequest(version, current.Version ?? string.Empty) { ActiveSlot = current.ActiveSlot ?? "blue", Instances = current.Instances };
            work.Log.WriteLine($"deploying {version} (running: {(current.Version ?? "unknown")})");
            var plan = DeployPlanner.Plan(spec.Strategy, request);
            var gate = 0;
            for (var i = 0; i < plan.Operations.Count; i++)
            {
                string? failure;
                try
                {
                    failure = plan.Operations[i] is AwaitApproval approval
                        ? await GateAsync(approval, ++gate, work, token).ConfigureAwait(false)
                        : await ExecuteAsync(plan.Operations[i], deployUrl, healthUrl, headers, work, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    // Stopped mid-deploy (its timeout, a cancel, the runner stopping): what was changed, the operation
                    // under way included, is rolled back first, so nothing is left half done (a canary taking traffic).
                    var stopped = timedOut() ? timeoutText : "stopped";
                    var (stopOutputs, summary) = await RollBackAsync(spec, plan, i, request, $"{stopped} during {plan.Operations[i].GetType().Name}", deployUrl, healthUrl, headers, work).ConfigureAwait(false);
                    if (timedOut())
                    {
                        return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.TimedOut, stopOutputs, summary);
                    }

                    throw;
                }

                if (failure is null)
                {
                    continue;
                }

                var (outputs, error) = await RollBackAsync(spec, plan, i, request, failure, deployUrl, healthUrl, headers, work).ConfigureAwait(false);
                return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.Failed, outputs, error);
            }

            return StepExecution.Succeeded(new Dictionary<string, string> { ["version"] = version, ["previousVersion"] = request.PreviousVersion });
        }
        catch (HttpRequestException ex)
        {
            // Only reading what runs now gets here (operations report their own failures): nothing was changed yet.
            return StepExecution.Failed($"the deployment API failed: {ex.InnerException?.Message ?? ex.Message}; nothing was changed");
        }
        catch (OperationCanceledException) when (timedOut())
        {
            return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.TimedOut, new Dictionary<string, string>(), $"{timeoutText}; nothing was changed");
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return new StepExecution(Serverless.Pipelines.Runs.StepOutcome.TimedOut, new Dictionary<string, string>(), $"the deployment API did not answer within {Durations.Format(http.Timeout)}; nothing was changed");
        }
    }

    /// <summary>
    /// Undoes what <paramref name="plan"/> changed up to operation <paramref name="failedAt"/> (included), within
    /// <see cref="RollbackBudget"/> whatever stops the step meanwhile; returns the step's outputs and its error text.
    /// </summary>
    private async Task<(Dictionary<string, string> Outputs, string Error)> RollBackAsync(
        DeployStep spec, DeployPlan plan, int failedAt, DeployRequest request, string failure, Uri deployUrl, Uri? healthUrl, IReadOnlyDictionary<string, string> headers, StepWork work)
    {
        if (request.PreviousVersion.Length == 0 && spec.Strategy is RollingStrategy)
        {
            // A first deploy: no version ran before, so there is nothing to go back to (never an empty version).
            work.Log.WriteLine($"failed: {failure}; not rolled back: no version was running before this deploy");
            return (new Dictionary<string, string> { ["previousVersion"] = string.Empty, ["rolledBack"] = "false" }, $"{failure}; not rolled back: no version was running before this deploy");
        }

        var rollback = DeployPlanner.Rollback(spec.Strategy, plan, failedAt, request);
        var restored = request.PreviousVersion.Length == 0 ? "the state before (no version was reported)" : request.PreviousVersion;
        work.Log.WriteLine($"failed: {failure}; rolling back to {restored}");
        using var budget = new CancellationTokenSource(RollbackBudget);
        string? rollbackFailed = null;
        foreach (var operation in rollback.Operations)
        {
            // Every operation is tried, as much as can be restored is; the first failure is what the step reports.
            string? rollbackFailure;
            try
            {
                rollbackFailure = await ExecuteAsync(operation, deployUrl, healthUrl, headers, work, budget.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested)
            {
                rollbackFailure = $"the rollback did not finish within {Durations.Format(RollbackBudget)}";
            }

            if (rollbackFailure is not null)
            {
                work.Log.WriteLine($"rollback step failed: {rollbackFailure}");
                rollbackFailed ??= rollbackFailure;
                if (budget.IsCancellationRequested)
                {
                    break;
                }
            }
        }

        if (rollbackFailed is null)
        {
            work.Log.WriteLine($"rolled back to {restored}");
        }

        var outputs = new Dictionary<string, string> { ["previousVersion"] = request.PreviousVersion, ["rolledBack"] = rollbackFailed is null ? "true" : "false" };
        return (outputs, rollbackFailed is null ? $"{failure}; rolled back to {restored}" : $"{failure}; the rollback to {restored} failed too: {rollbackFailed}");
    }

    /// <summary>What runs now, or null and what answered instead (a rollback could not know what to restore).</summary>
    private async Task<(CurrentDeployment? Current, string? Problem)> CurrentAsync(Uri deployUrl, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var answer = await http.SendAsync(() => Request(HttpMethod.Get, deployUrl, headers, null), MaxAnswerBytes, cancellationToken).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"HTTP {answer.Status}"));
        }

        if (answer.Truncated)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"with more than {MaxAnswerBytes} bytes, the most its answer may hold"));
        }

        return (JsonSerializer.Deserialize<CurrentDeployment>(answer.Body, JsonSerializerOptions.Web) ?? new CurrentDeployment(null, null, null), null);
    }

    /// <summary>Null when the operation succeeded, otherwise what went wrong.</summary>
    private async Task<string?> ExecuteAsync(DeployOperation operation, Uri deployUrl, Uri? healthUrl, IReadOnlyDictionary<string, string> headers, StepWork work, CancellationToken cancellationToken)
    {
        switch (operation)
        {
            case CheckHealth check:
                if (healthUrl is null)
                {
                    return null;
                }

                string? problem = null;
                for (var attempt = 1; attempt <= options.HealthCheckAttempts; attempt++)
                {
                    // An unreachable health URL (refused, reset, no answer in time) is an unhealthy answer like a 503.
                    problem = await HealthAsync(healthUrl, cancellationToken).ConfigureAwait(false);
                    if (problem is null)
                    {
                        work.Log.WriteLine($"health of {check.Scope}: ok");
                        return null;
                    }

                    if (attempt < options.HealthCheckAttempts)
                    {
                        await Task.Delay(options.HealthCheckInterval, cancellationToken).ConfigureAwait(false);
                    }
                }

                return string.Create(CultureInfo.InvariantCulture, $"health check of {check.Scope} failed {options.HealthCheckAttempts} times (last: {problem})");
            case PauseFor pause:
                work.Log.WriteLine($"pausing {Durations.Format(pause.Duration)}");
                await Task.Delay(pause.Duration, cancellationToken).ConfigureAwait(false);
                return null;
            case AwaitApproval:
                return "an approval gate cannot be part of a rollback";
            default:
                var body = JsonSerializer.Serialize<DeployOperation>(operation, PipelineJson.Options);
                work.Log.WriteLine($"POST {body}");
                try
                {
                    // Only the status counts: none of the body is read.
                    var answer = await http.SendAsync(() => Request(HttpMethod.Post, deployUrl, headers, body), 0, cancellationToken).ConfigureAwait(false);
                    return answer.IsSuccess ? null : string.Create(CultureInfo.InvariantCulture, $"{operation.GetType().Name} answered HTTP {answer.Status}");
                }
                catch (HttpRequestException ex)
                {
                    // Unreachable after earlier operations may have changed the deployment: a failed operation, rolled back.
                    return $"{operation.GetType().Name} failed: {ex.InnerException?.Message ?? ex.Message}";
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return $"{operation.GetType().Name} got no answer within {Durations.Format(http.Timeout)}";
                }
        }
    }

    /// <summary>Null when an approver let the canary go on; otherwise the rejection (which rolls the deploy back).</summary>
    private async Task<string?> GateAsync(AwaitApproval approval, int gate, StepWork work, CancellationToken cancellationToken)
    {
        if (gates is null)
        {
            return "approval gates need the run store (this runner was built without one)";
        }

        work.Log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"waiting at approval gate {gate} for {string.Join(", ", approval.Approvers)}"));
        var decision = await gates.WaitAsync(work.Run.RunId, work.StepId, work.Attempt, gate, cancellationToken).ConfigureAwait(false);
        if (decision.Approved)
        {
            work.Log.WriteLine($"approved by {decision.By}");
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"approval gate {gate} rejected by {decision.By}");
    }

    /// <summary>Null when the health URL answered 2xx, otherwise what it answered or why it could not be reached.</summary>
    private async Task<string?> HealthAsync(Uri healthUrl, CancellationToken cancellationToken)
    {
        try
        {
            // One try (the checks poll on their own), its status only: none of the body is read.
            var answer = await http.SendOnceAsync(() => new HttpRequestMessage(HttpMethod.Get, healthUrl), 0, cancellationToken).ConfigureAwait(false);
            return answer.IsSuccess ? null : string.Create(CultureInfo.InvariantCulture, $"HTTP {answer.Status}");
        }
        catch (HttpRequestException ex)
        {
            return ex.InnerException?.Message ?? ex.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {Durations.Format(http.Timeout)}";
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri url, IReadOnlyDictionary<string, string> headers, string? json)
    {
        var request = new HttpRequestMessage(method, url);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private sealed record CurrentDeployment(string? Version, string? ActiveSlot, int? Instances);

    /// <summary>
    /// Why the live slot is unknown, or null: <c>activeSlot</c> must be "blue" or "green" (any case) when given, and must be
    /// given while a version runs (before the first deploy there is nothing to replace, and blue is taken as live).
    /// </summary>
    private static string? UnknownLiveSlot(CurrentDeployment current) => current.ActiveSlot switch
    {
        null when current.Version is not null => $"no activeSlot while {current.Version} runs",
        null => null,
        { } slot when slot.Equals("blue", StringComparison.OrdinalIgnoreCase) || slot.Equals("green", StringComparison.OrdinalIgnoreCase) => null,
        { } slot => $"activeSlot '{(slot.Length > 40 ? slot[..40] + "..." : slot)}'",
    };
}
