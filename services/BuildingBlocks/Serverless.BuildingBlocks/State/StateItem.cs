namespace Serverless.BuildingBlocks.State;

public sealed record StateItem(string Key, ReadOnlyMemory<byte> Value, string ETag, DateTimeOffset? ExpiresAt);
