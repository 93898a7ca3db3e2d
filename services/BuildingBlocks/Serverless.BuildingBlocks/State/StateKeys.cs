namespace Serverless.BuildingBlocks.State;

/// <summary>The documented limits every state store enforces the same way.</summary>
public static class StateKeys
{
    /// <summary>Keys are at most this many UTF-16 characters.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Values are at most 16 MiB.</summary>
    public const int MaxValueBytes = 16 * 1024 * 1024;

    /// <summary>Pages are at most this many keys.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Modules separate parts of a key with this, as Dapr does (<c>webhooks||receipt||42</c>).</summary>
    public const string Separator = "||";

    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidStateKeyException(key, "a key must not be empty.");
        }

        if (key.Length > MaxKeyLength)
        {
            throw new InvalidStateKeyException(key, $"a key is at most {MaxKeyLength} characters; this one has {key.Length}.");
        }

        foreach (var c in key)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                throw new InvalidStateKeyException(key, "a key must not contain control characters or unpaired surrogates.");
            }
        }
    }

    public static void ValidateValue(string key, ReadOnlyMemory<byte> value)
    {
        if (value.Length > MaxValueBytes)
        {
            throw new StateValueTooLargeException(key, value.Length);
        }
    }

    /// <summary>Checks a write the same way in every store: key, value size, TTL.</summary>
    public static void Validate(StateOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Validate(operation.Key);
        if (operation is StateOperation.Upsert upsert)
        {
            ValidateValue(upsert.Key, upsert.Value);
            if (upsert.Options.Ttl is { } ttl && ttl <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(operation), "A TTL must be positive.");
            }
        }
    }

    public static string Join(params string[] parts) => string.Join(Separator, parts);

    internal static string Abbreviate(string key) => key.Length <= 64 ? key : string.Concat(key.AsSpan(0, 61), "...");
}
