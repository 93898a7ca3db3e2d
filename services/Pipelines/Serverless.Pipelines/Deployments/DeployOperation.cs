using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Deployments;

/// <summary>One step of a deploy plan; the deploy executor (later, with HTTP) carries them out in order.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(DeployInstances), "deployInstances")]
[JsonDerivedType(typeof(DeploySlot), "deploySlot")]
[JsonDerivedType(typeof(DeployCanary), "deployCanary")]
[JsonDerivedType(typeof(CheckHealth), "checkHealth")]
[JsonDerivedType(typeof(SwitchTraffic), "switchTraffic")]
[JsonDerivedType(typeof(ShiftTraffic), "shiftTraffic")]
[JsonDerivedType(typeof(PauseFor), "pause")]
[JsonDerivedType(typeof(AwaitApproval), "awaitApproval")]
[JsonDerivedType(typeof(KeepStandby), "keepStandby")]
[JsonDerivedType(typeof(PromoteCanary), "promoteCanary")]
[JsonDerivedType(typeof(RemoveCanary), "removeCanary")]
public abstract record DeployOperation;

/// <summary>Rolling: put <paramref name="Version"/> on these instance numbers (0-based).</summary>
public sealed record DeployInstances(IReadOnlyList<int> Instances, string Version) : DeployOperation
{
    public bool Equals(DeployInstances? other) => other is not null && other.Version == Version && other.Instances.SequenceEqual(Instances);

    public override int GetHashCode() => HashCode.Combine(Version, Instances.Count);
}

/// <summary>Blue-green: put <paramref name="Version"/> on the idle slot.</summary>
public sealed record DeploySlot(string Slot, string Version) : DeployOperation;

/// <summary>Canary: start the canary instances on <paramref name="Version"/>, taking no traffic yet.</summary>
public sealed record DeployCanary(string Version) : DeployOperation;

/// <summary>Poll the health URL of <paramref name="Scope"/> ("instances 0-1", "slot green", "canary"); failure triggers the rollback plan.</summary>
public sealed record CheckHealth(string Scope) : DeployOperation;

/// <summary>Blue-green: all traffic to <paramref name="ToSlot"/>.</summary>
public sealed record SwitchTraffic(string ToSlot) : DeployOperation;

/// <summary>Canary: this percentage of traffic to the canary, the rest to the stable version.</summary>
public sealed record ShiftTraffic(int Percent) : DeployOperation;

public sealed record PauseFor(TimeSpan Duration) : DeployOperation;

public sealed record AwaitApproval(IReadOnlyList<string> Approvers) : DeployOperation
{
    public bool Equals(AwaitApproval? other) => other is not null && other.Approvers.SequenceEqual(Approvers);

    public override int GetHashCode() => Approvers.Count;
}

/// <summary>Blue-green: leave the old slot running, without traffic, so a rollback is a switch back.</summary>
public sealed record KeepStandby(string Slot) : DeployOperation;

/// <summary>Canary at 100%: make the canary's version the stable one.</summary>
public sealed record PromoteCanary(string Version) : DeployOperation;

public sealed record RemoveCanary : DeployOperation;
