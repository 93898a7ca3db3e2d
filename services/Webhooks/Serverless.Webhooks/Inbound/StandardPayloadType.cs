using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Standard Webhooks carries the event type in the payload's top-level "type" field, not in a header.
/// Read only after the signature has verified, and only that one field.
/// </summary>
internal static class StandardPayloadType
{
    public static string? Read(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // A verified but non-JSON body simply has no event type.
        }

        return null;
    }
}
