using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Security;

/// <summary>
/// On the very first start (no key exists yet) creates an admin key, prints it once to the console (never to
/// the logs) and saves it to {DataDirectory}/admin.key with mode 0600, so a newcomer can call the API at once.
/// </summary>
public sealed class AdminKeyBootstrap(ApiKeyStore keys, ServerlessOptions options) : IHostedService
{
    public const string FileName = "admin.key";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await keys.TryClaimBootstrapAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var created = await keys.CreateAsync("bootstrap admin", ApiKeyRole.Admin, cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(options.DataDirectory);
        var path = Path.GetFullPath(Path.Combine(options.DataDirectory, FileName));
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), fileOptions))
        {
            await file.WriteLineAsync(created.Key).ConfigureAwait(false);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await Console.Out.WriteLineAsync($"""

            ==== Serverless: first start — an admin API key was created ====
            {created.Key}
            Shown once; also saved to {path} (mode 0600).
            Use it as:  Authorization: Bearer <key>
            ================================================================

            """).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
