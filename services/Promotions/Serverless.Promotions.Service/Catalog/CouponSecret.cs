using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Coupons;

namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// The master secret every coupon batch key is derived from: batch key = HMAC-SHA256(master,
/// "coupon-batch\npromotionId\nbatchId"), so promotion records hold no secret. The master is
/// <c>Promotions:CouponSecret</c> (base64, at least 32 bytes) when configured, otherwise generated once and stored
/// create-only under <see cref="PromotionKeys.CouponSecret"/> — every instance on the same state then agrees. It is
/// read once and kept in memory; it never appears in a log, a response or <see cref="ToString"/>.
/// </summary>
public sealed class CouponSecret
{
    public const int MinBytes = 32;

    private readonly IStateStore _state;
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<(string PromotionId, string BatchId), string> _keys = new();
    private byte[]? _master;
    private Task<byte[]>? _loading;

    /// <param name="configured">The configured master (at least <see cref="MinBytes"/> bytes), or null to use the stored one.</param>
    public CouponSecret(IStateStore state, byte[]? configured = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (configured is { Length: < MinBytes })
        {
            throw new ArgumentException($"The coupon secret must be at least {MinBytes} bytes.", nameof(configured));
        }

        _state = state;
        _master = configured is null ? null : [.. configured];
    }

    /// <summary>Base64 of at least <see cref="MinBytes"/> bytes, decoded; false otherwise (the value is never echoed).</summary>
    public static bool TryParse(string? base64, out byte[]? secret)
    {
        secret = null;
        if (string.IsNullOrWhiteSpace(base64))
        {
            return false;
        }

        var buffer = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64.Trim(), buffer, out var written) || written < MinBytes)
        {
            return false;
        }

        secret = buffer[..written];
        return true;
    }

    /// <summary>The batch as the engine verifies it: its metadata plus its derived key (base64).</summary>
    public async ValueTask<CouponBatch> BatchAsync(string promotionId, CouponBatchRecord batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_keys.TryGetValue((promotionId, batch.Id), out var key))
        {
            var master = await MasterAsync(cancellationToken).ConfigureAwait(false);
            key = Convert.ToBase64String(DeriveBatchKey(master, promotionId, batch.Id));
            _keys.TryAdd((promotionId, batch.Id), key);
        }

        return new CouponBatch(batch.Id, promotionId, batch.Prefix, batch.Count, key) { Revoked = batch.Revoked };
    }

    /// <summary>HMAC-SHA256(master, UTF-8 "coupon-batch\npromotionId\nbatchId").</summary>
    internal static byte[] DeriveBatchKey(ReadOnlySpan<byte> master, string promotionId, string batchId) =>
        HMACSHA256.HashData(master, Encoding.UTF8.GetBytes($"coupon-batch\n{promotionId}\n{batchId}"));

    /// <summary>The configured master, or the stored one (created on first use: the first instance to write it wins, the others read it).</summary>
    internal async ValueTask<byte[]> MasterAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _master) is { } known)
        {
            return known;
        }

        Task<byte[]> loading;
        lock (_lock)
        {
            loading = _loading ??= LoadAsync();
        }

        try
        {
            var master = await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _master, master);
            return master;
        }
        catch (Exception) when (loading.IsFaulted)
        {
            // The store may be briefly unreachable: the next caller tries again.
            lock (_lock)
            {
                if (_loading == loading)
                {
                    _loading = null;
                }
            }

            throw;
        }
    }

    private async Task<byte[]> LoadAsync()
    {
        while (true)
        {
            if (await _state.GetJsonAsync<StoredSecret>(PromotionKeys.CouponSecret).ConfigureAwait(false) is { } stored)
            {
                return TryParse(stored.Value.Secret, out var parsed)
                    ? parsed!
                    : throw new InvalidOperationException($"The stored coupon secret ({PromotionKeys.CouponSecret}) is not base64 of at least {MinBytes} bytes.");
            }

            try
            {
                await _state.SaveJsonAsync(PromotionKeys.CouponSecret, new StoredSecret(Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinBytes))), new StateWriteOptions(OnlyIfAbsent: true)).ConfigureAwait(false);
            }
            catch (ETagMismatchException)
            {
                // Another instance created it first: read theirs.
            }
        }
    }

    public override string ToString() => nameof(CouponSecret);

    private sealed record StoredSecret(string Secret)
    {
        public override string ToString() => nameof(StoredSecret);
    }
}
