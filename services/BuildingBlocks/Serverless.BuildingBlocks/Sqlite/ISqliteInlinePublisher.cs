namespace Serverless.BuildingBlocks.Sqlite;

/// <summary>
/// A transport whose own durable storage lives in the same SQLite database as the state (the embedded profile's
/// event ledger). Events committed with state are then appended to it inside the same transaction instead of
/// going through the outbox: the same atomicity and at-least-once delivery, without writing each event twice
/// (outbox row, then ledger row) and deleting it twice.
/// </summary>
public interface ISqliteInlinePublisher
{
    /// <summary>
    /// Runs on the database's writer thread inside <paramref name="session"/>'s transaction. Returns false when
    /// the event must take the outbox instead (the topic is unknown to this process, or the ledger is not ready).
    /// </summary>
    bool TryAppend(SqliteWriteSession session, string topic, byte[] cloudEventJson);
}
