using System.Runtime.InteropServices;

namespace Serverless.BuildingBlocks.State;

/// <summary>Values of state operations as the database drivers take them.</summary>
internal static class StateValues
{
    /// <summary>
    /// <paramref name="value"/> as an array: the one behind it when it spans all of it (a serialised value, the usual
    /// case), so writing a run record or a receipt does not copy it once more; otherwise a copy.
    /// </summary>
    public static byte[] AsArray(ReadOnlyMemory<byte> value) =>
        MemoryMarshal.TryGetArray(value, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : value.ToArray();
}
