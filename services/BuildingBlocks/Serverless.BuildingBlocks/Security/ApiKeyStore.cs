using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Security;

/// <summary>
/// Creates, verifies and revokes API keys. A key reads <c>sls_&lt;id&gt;_&lt;secret&gt;</c>: the id finds the record,
/// the secret is checked against its stored SHA-256 hash in constant time. Verified keys are cached briefly,
/// so a revocation takes effect everywhere within <see cref="CacheFor"/>.
/// </summary>
public sealed class ApiKeyStore(IStateStore state, TimeProvider time)
{
    public const string Prefix = "sls_";
    private const string KeyPrefix = "auth||apikey||";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (ApiKey? Key, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async Task<CreatedApiKey> CreateAsync(string name, ApiKeyRole role, CancellationToken cancellationToken = default)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey(id, name, role, Hash(secret), time.GetUtcNow(), null);
        await state.SaveJsonAsync(KeyPrefix + id, key, new StateWriteOptions(OnlyIfAbsent: true), cancellationToken).ConfigureAwait(false);
        return new CreatedApiKey(id, name, Roles.Name(role), key.CreatedAt, $"{Prefix}{id}_{secret}");
    }

    /// <summary>The active key a presented value stands for, or null.</summary>
    public async Task<ApiKey?> VerifyAsync(string presented, CancellationToken cancellationToken = default)
    {
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length > 200)
        {
            return null;
        }

        var separator = presented.IndexOf('_', Prefix.Length);
        if (separator < 0)
        {
            return null;
        }

        var id = presented[Prefix.Length..separator];
        var secret = presented[(separator + 1)..];
        var key = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (key is null || !key.IsActive)
        {
            return null;
        }

        var expected = Convert.FromHexString(key.SecretHash);
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? key : null;
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default)
    {
        var keys = new List<ApiKey>();
        string? token = null;
        do
        {
            var page = await state.ListKeysAsync(KeyPrefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            foreach (var item in await state.GetBulkAsync(page.Keys.ToList(), cancellationToken).ConfigureAwait(false))
            {
                keys.Add(item.Deserialize<ApiKey>());
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return keys.OrderBy(k => k.CreatedAt).ToList();
    }

    /// <summary>True for exactly one caller ever, across instances: the one that creates the first admin key.</summary>
    public async Task<bool> TryClaimBootstrapAsync(CancellationToken cancellationToken = default)
    {
        if (await AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            await state.SaveAsync("auth||bootstrap", "{}"u8.ToArray(), new StateWriteOptions(OnlyIfAbsent: true), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ETagMismatchException)
        {
            return false;
        }
    }

    public async Task<bool> AnyAsync(CancellationToken cancellationToken = default) =>
        (await state.ListKeysAsync(KeyPrefix, 1, null, cancellationToken).ConfigureAwait(false)).Keys.Count > 0;

    /// <summary>Revokes a key. Refuses to revoke the last active admin key, which would lock everyone out.</summary>
    public async Task<RevokeOutcome> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        var stored = await state.GetJsonAsync<ApiKey>(KeyPrefix + id, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return RevokeOutcome.NotFound;
        }

        if (!stored.Value.IsActive)
        {
            return RevokeOutcome.Revoked;
        }

        if (stored.Value.Role == ApiKeyRole.Admin)
        {
            var admins = (await ListAsync(cancellationToken).ConfigureAwait(false)).Count(k => k.IsActive && k.Role == ApiKeyRole.Admin);
            if (admins <= 1)
            {
                return RevokeOutcome.LastAdmin;
            }
        }

        await state.SaveJsonAsync(KeyPrefix + id, stored.Value with { RevokedAt = time.GetUtcNow() }, new StateWriteOptions(ETag: stored.ETag), cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(id, out _);
        return RevokeOutcome.Revoked;
    }

    private async Task<ApiKey?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(id, out var cached) && cached.Until > now)
        {
            return cached.Key;
        }

        if (id.Length != 16)
        {
            return null;
        }

        var key = (await state.GetJsonAsync<ApiKey>(KeyPrefix + id, cancellationToken).ConfigureAwait(false))?.Value;
        _cache[id] = (key, now + CacheFor);
        return key;
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public enum RevokeOutcome
{
    Revoked,
    NotFound,
    LastAdmin,
}
