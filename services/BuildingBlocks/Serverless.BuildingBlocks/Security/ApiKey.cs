namespace Serverless.BuildingBlocks.Security;

/// <summary>A stored API key: only a SHA-256 hash of its secret is kept.</summary>
public sealed record ApiKey(string Id, string Name, ApiKeyRole Role, string SecretHash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsActive => RevokedAt is null;
}

/// <summary>What the API shows of a key: never the secret or its hash.</summary>
public sealed record ApiKeyView(string Id, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyView From(ApiKey key) => new(key.Id, key.Name, Roles.Name(key.Role), key.CreatedAt, key.RevokedAt);
}

/// <summary>A newly created key: the only time its plain value is shown.</summary>
public sealed record CreatedApiKey(string Id, string Name, string Role, DateTimeOffset CreatedAt, string Key);
