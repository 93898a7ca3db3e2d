using System.Globalization;
using System.Text.Json;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Parsing;

/// <summary>
/// Maps a <see cref="DocNode"/> tree onto the definition records, collecting every shape problem (wrong type,
/// unknown field or kind, bad duration) with its path instead of stopping at the first, and remembering where
/// each path starts so later semantic problems can point at a line too.
/// </summary>
internal sealed class DefinitionReader
{
    private static readonly string[] StepKinds = ["script", "http", "approval", "deploy", "publish", "wait"];
    private static readonly string[] CommonStepFields = ["id", "kind", "needs", "when", "timeout", "retries", "outputs"];

    private readonly List<PipelineProblem> _problems = [];
    private readonly Dictionary<string, DocNode> _locations = new(StringComparer.Ordinal);

    public IReadOnlyList<PipelineProblem> Problems => _problems;

    public IReadOnlyDictionary<string, DocNode> Locations => _locations;

    public PipelineDefinition? Read(DocNode root)
    {
        if (root is not DocMap map)
        {
            Problem("$", root, $"expected a mapping with name, triggers, parameters, steps but found {root.Describe}");
            return null;
        }

        CheckFields(map, string.Empty, "name", "triggers", "concurrency", "parameters", "steps", "finally");
        var name = RequiredString(map, string.Empty, "name") ?? string.Empty;
        var triggers = List(map["triggers"], "triggers", ReadTrigger);
        var concurrency = map["concurrency"] is { } c && c is not DocScalar { Kind: ScalarKind.Null } ? ReadConcurrency(c, "concurrency") : null;
        var parameters = ReadParameters(map["parameters"], "parameters");
        var steps = List(map["steps"], "steps", ReadStep);
        var finallySteps = List(map["finally"], "finally", ReadStep);
        return new PipelineDefinition
        {
            Name = name,
            Triggers = triggers.OfType<TriggerSpec>().ToList(),
            Concurrency = concurrency,
            Parameters = parameters,
            Steps = steps.OfType<StepSpec>().ToList(),
            Finally = finallySteps.OfType<StepSpec>().ToList(),
        };
    }

    private TriggerSpec? ReadTrigger(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        var kind = RequiredString(map, path, "kind");
        switch (kind)
        {
            case "push":
                CheckFields(map, path, "kind", "repository", "branches", "paths");
                return new PushTrigger { Repository = OptionalString(map, path, "repository"), Branches = StringList(map, path, "branches"), Paths = StringList(map, path, "paths") };
            case "schedule":
                CheckFields(map, path, "kind", "cron", "timeZone");
                return new ScheduleTrigger { Cron = RequiredString(map, path, "cron") ?? string.Empty, TimeZone = OptionalString(map, path, "timeZone") ?? "UTC" };
            case "manual":
                CheckFields(map, path, "kind");
                return new ManualTrigger();
            case null:
                return null;
            default:
                Problem(Join(path, "kind"), map["kind"], $"unknown trigger kind '{kind}' (expected push, schedule or manual)");
                return null;
        }
    }

    private ConcurrencySpec? ReadConcurrency(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        CheckFields(map, path, "group", "cancelInProgress");
        return new ConcurrencySpec { Group = RequiredString(map, path, "group") ?? string.Empty, CancelInProgress = Bool(map, path, "cancelInProgress") ?? false };
    }

    private List<ParameterSpec> ReadParameters(DocNode? node, string path)
    {
        var result = new List<ParameterSpec>();
        if (node is null or DocScalar { Kind: ScalarKind.Null })
        {
            return result;
        }

        // Parameters are a mapping by name: names are unique by construction and paths read parameters.env.
        if (Map(node, path) is not { } map)
        {
            return result;
        }

        foreach (var (name, value) in map.Entries)
        {
            var itemPath = Join(path, name);
            Remember(itemPath, value);
            if (Map(value, itemPath) is not { } spec)
            {
                continue;
            }

            CheckFields(spec, itemPath, "type", "default", "required", "options", "description");
            var typeText = OptionalString(spec, itemPath, "type") ?? "string";
            ParameterType? type = typeText switch
            {
                "string" => ParameterType.Text,
                "number" => ParameterType.Number,
                "boolean" => ParameterType.Flag,
                "choice" => ParameterType.Choice,
                _ => null,
            };
            if (type is null)
            {
                Problem(Join(itemPath, "type"), spec["type"], $"unknown parameter type '{typeText}' (expected string, number, boolean or choice)");
            }

            result.Add(new ParameterSpec
            {
                Name = name,
                Type = type ?? ParameterType.Text,
                Default = ScalarElement(spec["default"], Join(itemPath, "default")),
                Required = Bool(spec, itemPath, "required") ?? false,
                Options = StringList(spec, itemPath, "options"),
                Description = OptionalString(spec, itemPath, "description"),
            });
        }

        return result;
    }

    private StepSpec? ReadStep(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        var id = RequiredString(map, path, "id") ?? string.Empty;
        var kind = RequiredString(map, path, "kind");
        var needs = StringList(map, path, "needs");
        var when = OptionalString(map, path, "when");
        var timeout = Duration(map, path, "timeout");
        var retries = map["retries"] is { } r ? ReadRetries(r, Join(path, "retries")) : null;
        var outputs = StringList(map, path, "outputs");

        StepSpec? step;
        switch (kind)
        {
            case "script":
                CheckFields(map, path, [.. CommonStepFields, "run", "shell", "env", "workingDirectory", "logLimitBytes"]);
                step = new ScriptStep
                {
                    Id = id,
                    Run = RequiredString(map, path, "run") ?? string.Empty,
                    Shell = OptionalString(map, path, "shell"),
                    Env = StringMap(map, path, "env"),
                    WorkingDirectory = OptionalString(map, path, "workingDirectory"),
                    LogLimitBytes = Long(map, path, "logLimitBytes") ?? 1024 * 1024,
                };
                break;
            case "http":
                CheckFields(map, path, [.. CommonStepFields, "method", "url", "headers", "body", "expectStatus"]);
                step = new HttpStep
                {
                    Id = id,
                    Method = OptionalString(map, path, "method") ?? "GET",
                    Url = RequiredString(map, path, "url") ?? string.Empty,
                    Headers = StringMap(map, path, "headers"),
                    Body = Body(map, path),
                    ExpectStatus = (int?)Long(map, path, "expectStatus"),
                };
                break;
            case "approval":
                CheckFields(map, path, [.. CommonStepFields, "approvers", "minApprovers", "onTimeout"]);
                var onTimeout = OptionalString(map, path, "onTimeout");
                if (onTimeout is not (null or "approve" or "reject"))
                {
                    Problem(Join(path, "onTimeout"), map["onTimeout"], $"expected approve or reject but found '{onTimeout}'");
                }

                step = new ApprovalStep
                {
                    Id = id,
                    Approvers = StringList(map, path, "approvers"),
                    MinApprovers = (int?)Long(map, path, "minApprovers") ?? 1,
                    OnTimeout = onTimeout == "approve" ? ApprovalTimeoutOutcome.Approve : ApprovalTimeoutOutcome.Reject,
                };
                break;
            case "deploy":
                CheckFields(map, path, [.. CommonStepFields, "target", "version", "strategy"]);
                var target = map["target"] is { } t ? ReadTarget(t, Join(path, "target")) : MissingAndNull<DeployTarget>(map, path, "target");
                var strategy = map["strategy"] is { } s ? ReadStrategy(s, Join(path, "strategy")) : new RollingStrategy();
                var version = RequiredString(map, path, "version");
                step = target is null || strategy is null || version is null ? null : new DeployStep { Id = id, Target = target, Version = version, Strategy = strategy };
                break;
            case "publish":
                CheckFields(map, path, [.. CommonStepFields, "topic", "type", "data"]);
                step = new PublishStep { Id = id, Topic = RequiredString(map, path, "topic") ?? string.Empty, Type = OptionalString(map, path, "type"), Data = StringMap(map, path, "data") };
                break;
            case "wait":
                CheckFields(map, path, [.. CommonStepFields, "duration"]);
                var duration = Duration(map, path, "duration");
                if (duration is null && map["duration"] is null)
                {
                    Problem(Join(path, "duration"), map, "required");
                }

                step = duration is null ? null : new WaitStep { Id = id, Duration = duration.Value };
                break;
            case null:
                step = null;
                break;
            default:
                Problem(Join(path, "kind"), map["kind"], $"unknown step kind '{kind}' (expected {string.Join(", ", StepKinds)})");
                step = null;
                break;
        }

        // A step whose kind-specific part is broken still takes part in the graph checks (needs, cycles,
        // expressions) as a placeholder, so one mistake does not hide the others or cause "unknown step" noise.
        step ??= new UnreadableStep { Id = id };
        return step with { Needs = needs, When = when, Timeout = timeout, Retries = retries, Outputs = outputs };
    }

    /// <summary>A body is text, or a mapping/list written inline, which becomes its JSON text (strings in it may hold templates).</summary>
    private string? Body(DocMap map, string path) => map["body"] switch
    {
        DocMap or DocList => ToJson(map["body"]!),
        _ => OptionalString(map, path, "body"),
    };

    private static string ToJson(DocNode node)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps ' and + readable, so templates such as ${{ parameters.env == 'prod' }} survive.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteJson(writer, node);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteJson(Utf8JsonWriter writer, DocNode node)
    {
        switch (node)
        {
            case DocMap map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Entries)
                {
                    writer.WritePropertyName(key);
                    WriteJson(writer, value);
                }

                writer.WriteEndObject();
                break;
            case DocList list:
                writer.WriteStartArray();
                foreach (var item in list.Items)
                {
                    WriteJson(writer, item);
                }

                writer.WriteEndArray();
                break;
            case DocScalar { Kind: ScalarKind.Null }:
                writer.WriteNullValue();
                break;
            case DocScalar { Kind: ScalarKind.Boolean } b:
                writer.WriteBooleanValue(b.Text == "true");
                break;
            case DocScalar { Kind: ScalarKind.Number } n:
                writer.WriteRawValue(double.Parse(n.Text!, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture));
                break;
            case DocScalar s:
                writer.WriteStringValue(s.Text);
                break;
        }
    }

    private RetryPolicy? ReadRetries(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        CheckFields(map, path, "limit", "backoff", "exponential", "on");
        var on = new List<RetryOn>();
        foreach (var (text, index) in StringList(map, path, "on").Select((t, i) => (t, i)))
        {
            switch (text)
            {
                case "failure": on.Add(RetryOn.Failure); break;
                case "timeout": on.Add(RetryOn.Timeout); break;
                default: Problem($"{path}.on[{index}]", map["on"], $"expected failure or timeout but found '{text}'"); break;
            }
        }

        return new RetryPolicy
        {
            Limit = (int?)Long(map, path, "limit") ?? 0,
            Backoff = Duration(map, path, "backoff") ?? TimeSpan.Zero,
            Exponential = Bool(map, path, "exponential") ?? false,
            On = map["on"] is null ? [RetryOn.Failure, RetryOn.Timeout] : on,
        };
    }

    private DeployTarget? ReadTarget(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        CheckFields(map, path, "kind", "deployUrl", "healthUrl", "headers");
        var kind = OptionalString(map, path, "kind") ?? "http";
        if (kind != "http")
        {
            Problem(Join(path, "kind"), map["kind"], $"unknown deploy target kind '{kind}' (expected http)");
        }

        return new DeployTarget { Kind = kind, DeployUrl = RequiredString(map, path, "deployUrl") ?? string.Empty, HealthUrl = OptionalString(map, path, "healthUrl"), Headers = StringMap(map, path, "headers") };
    }

    private DeployStrategy? ReadStrategy(DocNode node, string path)
    {
        if (Map(node, path) is not { } map)
        {
            return null;
        }

        var kind = RequiredString(map, path, "kind");
        switch (kind)
        {
            case "rolling":
                CheckFields(map, path, "kind", "batchSize", "instances");
                return new RollingStrategy { BatchSize = (int?)Long(map, path, "batchSize") ?? 1, Instances = (int?)Long(map, path, "instances") ?? 1 };
            case "blue-green":
                CheckFields(map, path, "kind", "healthCheck");
                return new BlueGreenStrategy { HealthCheck = OptionalString(map, path, "healthCheck") };
            case "canary":
                CheckFields(map, path, "kind", "steps", "pause", "approval", "approvers");
                var percents = new List<int>();
                foreach (var (text, index) in StringList(map, path, "steps").Select((t, i) => (t, i)))
                {
                    if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var percent))
                    {
                        percents.Add(percent);
                    }
                    else
                    {
                        Problem($"{path}.steps[{index}]", map["steps"], $"expected a whole percentage but found '{text}'");
                    }
                }

                return new CanaryStrategy
                {
                    Steps = map["steps"] is null ? [10, 50, 100] : percents,
                    Pause = Duration(map, path, "pause"),
                    Approval = Bool(map, path, "approval") ?? false,
                    Approvers = StringList(map, path, "approvers"),
                };
            case null:
                return null;
            default:
                Problem(Join(path, "kind"), map["kind"], $"unknown deploy strategy '{kind}' (expected rolling, blue-green or canary)");
                return null;
        }
    }

    private List<T?> List<T>(DocNode? node, string path, Func<DocNode, string, T?> read)
    {
        var result = new List<T?>();
        if (node is null or DocScalar { Kind: ScalarKind.Null })
        {
            return result;
        }

        Remember(path, node);
        if (node is not DocList list)
        {
            Problem(path, node, $"expected a list but found {node.Describe}");
            return result;
        }

        for (var i = 0; i < list.Items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            Remember(itemPath, list.Items[i]);
            result.Add(read(list.Items[i], itemPath));
        }

        return result;
    }

    private DocMap? Map(DocNode node, string path)
    {
        Remember(path, node);
        if (node is DocMap map)
        {
            return map;
        }

        Problem(path, node, $"expected a mapping but found {node.Describe}");
        return null;
    }

    private void CheckFields(DocMap map, string path, params string[] known)
    {
        foreach (var (key, value) in map.Entries)
        {
            Remember(Join(path, key), value);
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                Problem(Join(path, key), value, $"unknown field '{key}'");
            }
        }
    }

    private string? RequiredString(DocMap map, string path, string key)
    {
        if (map[key] is null or DocScalar { Kind: ScalarKind.Null })
        {
            Problem(Join(path, key), map, "required");
            return null;
        }

        return OptionalString(map, path, key);
    }

    private T? MissingAndNull<T>(DocMap map, string path, string key)
        where T : class
    {
        Problem(Join(path, key), map, "required");
        return null;
    }

    private string? OptionalString(DocMap map, string path, string key)
    {
        switch (map[key])
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return null;
            case DocScalar scalar:
                return scalar.Text;
            case { } other:
                Problem(Join(path, key), other, $"expected a string but found {other.Describe}");
                return null;
        }
    }

    private bool? Bool(DocMap map, string path, string key)
    {
        switch (map[key])
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return null;
            case DocScalar { Kind: ScalarKind.Boolean } scalar:
                return scalar.Text == "true";
            case { } other:
                Problem(Join(path, key), other, $"expected true or false but found {other.Describe}");
                return null;
        }
    }

    private long? Long(DocMap map, string path, string key)
    {
        switch (map[key])
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return null;
            case DocScalar { Kind: ScalarKind.Number } scalar when long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value):
                return value;
            case { } other:
                Problem(Join(path, key), other, $"expected a whole number but found {other.Describe}");
                return null;
        }
    }

    private TimeSpan? Duration(DocMap map, string path, string key)
    {
        switch (map[key])
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return null;
            case DocScalar { Kind: ScalarKind.Text } scalar when Durations.TryParse(scalar.Text, out var duration, out var problem) || problem != Durations.NotADuration:
                if (problem is null)
                {
                    return duration;
                }

                Problem(Join(path, key), scalar, $"'{scalar.Text}' is {problem} ({Durations.Rule})");
                return null;
            case { } other:
                Problem(Join(path, key), other, $"expected a duration such as \"30s\", \"5m\" or \"1h30m\" but found {other.Describe}");
                return null;
        }
    }

    private List<string> StringList(DocMap map, string path, string key)
    {
        var node = map[key];
        var result = new List<string>();
        var listPath = Join(path, key);
        switch (node)
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return result;
            case DocList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    Remember($"{listPath}[{i}]", list.Items[i]);
                    if (list.Items[i] is DocScalar { Kind: not ScalarKind.Null, Text: { } text })
                    {
                        result.Add(text);
                    }
                    else
                    {
                        Problem($"{listPath}[{i}]", list.Items[i], $"expected a string but found {list.Items[i].Describe}");
                    }
                }

                return result;
            default:
                Problem(listPath, node, $"expected a list but found {node.Describe}");
                return result;
        }
    }

    private Dictionary<string, string> StringMap(DocMap map, string path, string key)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var mapPath = Join(path, key);
        switch (map[key])
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return result;
            case DocMap entries:
                foreach (var (name, value) in entries.Entries)
                {
                    Remember(Join(mapPath, name), value);
                    if (value is DocScalar { Text: { } text })
                    {
                        result[name] = text;
                    }
                    else
                    {
                        Problem(Join(mapPath, name), value, $"expected a string but found {value.Describe}");
                    }
                }

                return result;
            case { } other:
                Problem(mapPath, other, $"expected a mapping but found {other.Describe}");
                return result;
        }
    }

    private JsonElement? ScalarElement(DocNode? node, string path)
    {
        switch (node)
        {
            case null or DocScalar { Kind: ScalarKind.Null }:
                return null;
            case DocScalar { Kind: ScalarKind.Boolean } b:
                return JsonSerializer.SerializeToElement(b.Text == "true");
            case DocScalar { Kind: ScalarKind.Number } n:
                return JsonSerializer.SerializeToElement(double.Parse(n.Text!, NumberStyles.Float, CultureInfo.InvariantCulture));
            case DocScalar s:
                return JsonSerializer.SerializeToElement(s.Text);
            default:
                Problem(path, node, $"expected a string, number or boolean but found {node.Describe}");
                return null;
        }
    }

    private void Remember(string path, DocNode node) => _locations.TryAdd(path, node);

    private void Problem(string path, DocNode? node, string message) =>
        _problems.Add(new PipelineProblem(path, message) { Line = node is { Line: > 0 } ? node.Line : null, Column = node is { Line: > 0 } ? node.Column : null });

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
