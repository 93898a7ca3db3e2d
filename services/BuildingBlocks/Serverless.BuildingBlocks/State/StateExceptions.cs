namespace Serverless.BuildingBlocks.State;

/// <summary>Base type for every state store error a caller is expected to handle.</summary>
public abstract class StateStoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The ETag given did not match (or the key was missing, or present for a create-only write).</summary>
public sealed class ETagMismatchException(string key)
    : StateStoreException($"The ETag for state key '{key}' does not match: it was changed by someone else.")
{
    public string Key { get; } = key;
}

/// <summary>A key is empty, too long or holds characters the store does not accept.</summary>
public sealed class InvalidStateKeyException(string key, string reason)
    : StateStoreException($"Invalid state key: {reason}")
{
    public string Key { get; } = key;
}

/// <summary>A value is larger than <see cref="StateKeys.MaxValueBytes"/>.</summary>
public sealed class StateValueTooLargeException(string key, int size)
    : StateStoreException($"The value for state key '{StateKeys.Abbreviate(key)}' is {size} bytes; the limit is {StateKeys.MaxValueBytes} bytes.")
{
    public string Key { get; } = key;
}

/// <summary>
/// A continuation token (a list's <c>cursor</c>) that this store did not issue. An <see cref="ArgumentException"/> for
/// the parameter <c>token</c>; over HTTP a 400 problem keyed <c>cursor</c> on every list.
/// </summary>
public sealed class InvalidContinuationTokenException(Exception inner)
    : ArgumentException(Explanation, "token", inner)
{
    /// <summary>What a caller is told; <see cref="ArgumentException.Message"/> adds " (Parameter 'token')", which names no field of theirs.</summary>
    public const string Explanation = "The cursor is not one this list issued; use the nextCursor of a previous page.";
}
