using System.Globalization;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// Splits an expression into tokens. Anything outside the small token set (a ';', a '$', a backtick, '+', ...)
/// is an error here, which is what makes "parameters.x; rm -rf /" a parse error rather than something to run.
/// </summary>
public static class ExpressionLexer
{
    public static IReadOnlyList<Token> Tokenize(string text) => Tokenize(text, 0);

    /// <summary>Columns are shifted by <paramref name="columnOffset"/>, for expressions embedded in a longer string.</summary>
    internal static IReadOnlyList<Token> Tokenize(string text, int columnOffset)
    {
        try
        {
            return TokenizeCore(text);
        }
        catch (ExpressionException ex) when (columnOffset != 0)
        {
            throw new ExpressionException(ex.Reason, ex.Column + columnOffset);
        }
    }

    private static List<Token> TokenizeCore(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var column = i + 1;
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[start..i], column));
                continue;
            }

            if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                var start = i;
                i++;
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
                {
                    i++;
                }

                var literal = text[start..i];
                if (!double.TryParse(literal, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                {
                    throw new ExpressionException($"malformed number '{literal}'", column);
                }

                tokens.Add(new Token(TokenKind.NumberLiteral, literal, column, number));
                continue;
            }

            if (c == '\'')
            {
                tokens.Add(ReadString(text, ref i));
                continue;
            }

            var two = i + 1 < text.Length ? text.Substring(i, 2) : string.Empty;
            var twoKind = two switch
            {
                "&&" => TokenKind.And,
                "||" => TokenKind.Or,
                "==" => TokenKind.Equal,
                "!=" => TokenKind.NotEqual,
                "<=" => TokenKind.LessOrEqual,
                ">=" => TokenKind.GreaterOrEqual,
                _ => (TokenKind?)null,
            };
            if (twoKind is { } kind2)
            {
                tokens.Add(new Token(kind2, two, column));
                i += 2;
                continue;
            }

            TokenKind? oneKind = c switch
            {
                '.' => TokenKind.Dot,
                ',' => TokenKind.Comma,
                '(' => TokenKind.OpenParen,
                ')' => TokenKind.CloseParen,
                '[' => TokenKind.OpenBracket,
                ']' => TokenKind.CloseBracket,
                '!' => TokenKind.Not,
                '<' => TokenKind.Less,
                '>' => TokenKind.Greater,
                _ => null,
            };
            if (oneKind is not { } kind1)
            {
                var hint = c switch
                {
                    '=' => " (use '==' to compare)",
                    '&' => " (use '&&')",
                    '|' => " (use '||')",
                    '"' => " (strings use single quotes)",
                    _ => string.Empty,
                };
                throw new ExpressionException($"unexpected character '{c}'{hint}", column);
            }

            tokens.Add(new Token(kind1, c.ToString(), column));
            i++;
        }

        tokens.Add(new Token(TokenKind.End, string.Empty, text.Length + 1));
        return tokens;
    }

    private static Token ReadString(string text, ref int i)
    {
        var column = i + 1;
        var value = new System.Text.StringBuilder();
        i++;
        while (true)
        {
            if (i >= text.Length)
            {
                throw new ExpressionException("unterminated string", column);
            }

            if (text[i] == '\'')
            {
                // '' inside a string is one quote, as in GitHub Actions expressions.
                if (i + 1 < text.Length && text[i + 1] == '\'')
                {
                    value.Append('\'');
                    i += 2;
                    continue;
                }

                i++;
                break;
            }

            value.Append(text[i]);
            i++;
        }

        return new Token(TokenKind.StringLiteral, text[(column - 1)..i], column, value.ToString());
    }
}
