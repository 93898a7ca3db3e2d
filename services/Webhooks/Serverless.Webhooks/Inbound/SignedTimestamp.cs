using System.Globalization;

namespace Serverless.Webhooks.Inbound;

/// <summary>Parses unix-seconds timestamp headers and checks them against the tolerance, in both directions.</summary>
internal static class SignedTimestamp
{
    /// <returns>null when acceptable, otherwise the rejection.</returns>
    public static VerificationResult? Check(string headerName, string value, DateTimeOffset now, TimeSpan tolerance)
    {
        // Digits only: a sign, spaces or exponent would let two spellings sign the same instant.
        if (value.Length is 0 or > 12 || !value.All(char.IsAsciiDigit)
            || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{headerName} must be unix seconds (digits only)");
        }

        var distance = Math.Abs(now.ToUnixTimeSeconds() - seconds);
        return distance > (long)tolerance.TotalSeconds
            ? VerificationResult.Rejected(
                VerificationFailure.TimestampOutOfTolerance,
                $"{headerName} is more than {(long)tolerance.TotalSeconds} seconds from the receiver's clock")
            : null;
    }
}
