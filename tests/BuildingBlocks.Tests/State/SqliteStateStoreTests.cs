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
}
