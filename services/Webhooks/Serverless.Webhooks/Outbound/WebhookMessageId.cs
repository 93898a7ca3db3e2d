using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Outbound;

/// <summary>
/// The <c>webhook-id</c> of an event's deliveries. Standard Webhooks signs <c>"{id}.{timestamp}.{body}"</c>, so the id
/// must not contain '.', and it travels in a header, so it must be visible ASCII. A CloudEvent id may be any non-empty
/// string: one that is already a valid message id is used as it is; any other maps to <c>msg_</c> + base64url of its
/// SHA-256 — the same id on every retry and every instance, so receivers still deduplicate.
/// </summary>
public static class WebhookMessageId
{
    /// <summary>Longer event ids are mapped too, so the header stays short.</summary>
    public const int MaxLength = 256;

    /// <summary>The prefix of a derived id.</summary>
    public const string DerivedPrefix = "msg_";

    public static string For(string eventId)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        return IsValid(eventId) ? eventId : DerivedPrefix + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(eventId)));
    }

    /// <summary>True for 1–<see cref="MaxLength"/> visible ASCII characters other than '.'.</summary>
    public static bool IsValid(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length is 0 or > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is < '!' or > '~' or '.')
            {
                return false;
            }
        }

        return true;
    }
}
