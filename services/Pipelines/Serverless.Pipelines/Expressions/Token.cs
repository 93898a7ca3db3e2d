namespace Serverless.Pipelines.Expressions;

/// <summary>A token with its 1-based column, so parse errors can point at it.</summary>
public sealed record Token(TokenKind Kind, string Text, int Column, object? Value = null);
