namespace Serverless.BuildingBlocks.Security;

/// <summary>
/// Each role includes the ones below it: admin ⊃ operator ⊃ pos ⊃ viewer. The numbers are what stored keys hold (so
/// they never change); the order of the roles is <see cref="Roles.Rank"/>.
/// </summary>
public enum ApiKeyRole
{
    Viewer = 0,
    Operator = 1,
    Admin = 2,

    /// <summary>A till: what viewer may, plus committing and returning orders and the offline export; nothing that changes configuration.</summary>
    Pos = 3,
}

/// <summary>Authorization policy names for endpoints: <c>.RequireAuthorization(Roles.Operator)</c>.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Pos = "pos";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static string Name(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Admin => Admin,
        ApiKeyRole.Operator => Operator,
        ApiKeyRole.Pos => Pos,
        _ => Viewer,
    };

    /// <summary>Where a role stands: a key may do what its rank or any lower rank allows.</summary>
    public static int Rank(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Admin => 3,
        ApiKeyRole.Operator => 2,
        ApiKeyRole.Pos => 1,
        _ => 0,
    };

    /// <summary>Whether a key with role <paramref name="held"/> may do what <paramref name="required"/> allows.</summary>
    public static bool Includes(ApiKeyRole held, ApiKeyRole required) => Rank(held) >= Rank(required);

    public static bool TryParse(string? name, out ApiKeyRole role)
    {
        switch (name)
        {
            case Admin: role = ApiKeyRole.Admin; return true;
            case Operator: role = ApiKeyRole.Operator; return true;
            case Pos: role = ApiKeyRole.Pos; return true;
            case Viewer: role = ApiKeyRole.Viewer; return true;
            default: role = default; return false;
        }
    }
}
