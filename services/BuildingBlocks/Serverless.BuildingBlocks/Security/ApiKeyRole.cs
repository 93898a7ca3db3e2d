namespace Serverless.BuildingBlocks.Security;

/// <summary>Each role includes the ones below it: admin ⊃ operator ⊃ viewer.</summary>
public enum ApiKeyRole
{
    Viewer = 0,
    Operator = 1,
    Admin = 2,
}

/// <summary>Authorization policy names for endpoints: <c>.RequireAuthorization(Roles.Operator)</c>.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static string Name(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Admin => Admin,
        ApiKeyRole.Operator => Operator,
        _ => Viewer,
    };

    public static bool TryParse(string? name, out ApiKeyRole role)
    {
        switch (name)
        {
            case Admin: role = ApiKeyRole.Admin; return true;
            case Operator: role = ApiKeyRole.Operator; return true;
            case Viewer: role = ApiKeyRole.Viewer; return true;
            default: role = default; return false;
        }
    }
}
