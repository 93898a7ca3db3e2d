namespace Serverless.Promotions.Engine.Validation;

/// <summary>One problem with an input, at a JSON-ish path such as <c>lines[3].quantity</c>.</summary>
public sealed record ValidationProblem(string Path, string Message);
