using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public sealed class SqliteStateStoreTests : StateStoreContract
{
    private readonly string _directory = Directory.CreateTempSubdirectory("state-").FullName;
    private SqliteDatabase? _database;

    protected override async Task<IStateStore> CreateStoreAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_directory, "state.db"), NullLogger<SqliteDatabase>.Instance);
        return await SqliteStateStore.OpenAsync(_database, new OutboxSignal());
    }

    protected override async Task<IStateStore> ReopenAsync(OutboxSignal signal) => await SqliteStateStore.OpenAsync(_database!, signal);

    public override async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task State_survives_reopening_the_file_and_etags_keep_rising()
    {
        var etag = await Store.SaveAsync("durable", "v"u8.ToArray());
        await Store.DeleteAsync("durable");
        await _database!.DisposeAsync();

        _database = new SqliteDatabase(Path.Combine(_directory, "state.db"), NullLogger<SqliteDatabase>.Instance);
        var reopened = await SqliteStateStore.OpenAsync(_database, new OutboxSignal());
        var fresh = await reopened.SaveAsync("durable", "w"u8.ToArray());
        Assert.True(long.Parse(fresh, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_file_of_the_first_layout_is_migrated_with_values_etags_and_expiry_kept()
    {
        var path = Path.Combine(_directory, "first-layout.db");
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE TABLE state (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, etag INTEGER NOT NULL, expires_at INTEGER NULL) WITHOUT ROWID;
                CREATE INDEX state_expires_at ON state (expires_at) WHERE expires_at IS NOT NULL;
                INSERT INTO state VALUES ('kept', x'6b657074', 41, NULL), ('expiring', x'78', 42, {expires}), ('gone', x'79', 7, 1);
                """;
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using var database = new SqliteDatabase(path, NullLogger<SqliteDatabase>.Instance);
        var store = await SqliteStateStore.OpenAsync(database, new OutboxSignal());

        var kept = await store.GetAsync("kept", TestContext.Current.CancellationToken);
        Assert.Equal("kept"u8.ToArray(), kept!.Value.ToArray());
        Assert.Equal("41", kept.ETag);
        var expiring = await store.GetAsync("expiring", TestContext.Current.CancellationToken);
        Assert.Equal(expires, expiring!.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Null(await store.GetAsync("gone", TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ETagMismatchException>(() => store.SaveAsync("kept", "x"u8.ToArray(), new StateWriteOptions(ETag: "40"), TestContext.Current.CancellationToken));
        var next = await store.SaveAsync("kept", "x"u8.ToArray(), new StateWriteOptions(ETag: "41"), TestContext.Current.CancellationToken);
        Assert.True(long.Parse(next, System.Globalization.CultureInfo.InvariantCulture) > 42);
        Assert.Equal(1, await store.SweepExpiredAsync(TestContext.Current.CancellationToken));
    }
}
