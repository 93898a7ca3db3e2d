namespace Serverless.Pipelines.Expressions;

public enum TokenKind
{
    Identifier,
    StringLiteral,
    NumberLiteral,
    Dot,
    Comma,
    OpenParen,
    CloseParen,
    OpenBracket,
    CloseBracket,
    Not,
    And,
    Or,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    End,
}
