using Microsoft.Data.Sqlite;

namespace Serverless.BuildingBlocks.Sqlite;

/// <summary>What a write sees: the writer connection, with prepared commands kept across groups.</summary>
public sealed class SqliteWriteSession
{
    private readonly Dictionary<string, SqliteCommand> _commands;
    private readonly List<Action> _afterCommit;

    internal SqliteWriteSession(SqliteConnection connection, Dictionary<string, SqliteCommand> commands, List<Action> afterCommit)
    {
        Connection = connection;
        _commands = commands;
        _afterCommit = afterCommit;
    }

    public SqliteConnection Connection { get; }

    /// <summary>A prepared command for <paramref name="sql"/>, reused across calls; its parameters are cleared.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }

        command.Parameters.Clear();
        return command;
    }

    /// <summary>Runs <paramref name="action"/> after the group this write belongs to has committed.</summary>
    public void AfterCommit(Action action) => _afterCommit.Add(action);
}
