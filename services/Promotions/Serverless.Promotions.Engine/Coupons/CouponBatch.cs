using System.Text;

namespace Serverless.Promotions.Engine.Coupons;

/// <summary>
/// A batch of generated coupon codes for one promotion: serials 0 … Count − 1, each code verifiable from the batch
/// alone (see <see cref="CouponCodes"/>), so no code is ever stored. <see cref="Key"/> is the batch's HMAC key
/// (base64, at least 16 bytes): whoever holds it can make every code of the batch, so it is kept out of
/// <see cref="ToString"/>. A revoked batch's codes unlock nothing.
/// </summary>
public sealed record CouponBatch(string Id, string PromotionId, string Prefix, int Count, string Key)
{
    public bool Revoked { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id)
            .Append(", PromotionId = ").Append(PromotionId)
            .Append(", Prefix = ").Append(Prefix)
            .Append(", Count = ").Append(Count)
            .Append(", Revoked = ").Append(Revoked);
        return true;
    }
}
