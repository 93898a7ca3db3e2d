namespace Serverless.Pipelines.Expressions;

/// <summary>
/// Recursive descent over <see cref="ExpressionLexer"/>'s tokens. Precedence, loosest first:
/// <c>||</c>, <c>&amp;&amp;</c>, <c>== !=</c>, <c>&lt; &lt;= &gt; &gt;=</c>, <c>!</c>, then literals, calls,
/// context paths and parentheses. Only the functions in <see cref="Functions"/> and the context roots in
/// <see cref="ContextRoots"/> exist, so a typo fails at save time rather than evaluating to null at run time.
/// </summary>
public sealed class ExpressionParser
{
    /// <summary>Function names and their argument counts.</summary>
    public static readonly IReadOnlyDictionary<string, int> Functions = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["success"] = 0,
        ["failure"] = 0,
        ["always"] = 0,
        ["cancelled"] = 0,
        ["contains"] = 2,
        ["startsWith"] = 2,
        ["endsWith"] = 2,
    };

    public static readonly IReadOnlySet<string> ContextRoots = new HashSet<string>(StringComparer.Ordinal) { "parameters", "steps", "trigger", "run" };

    /// <summary>Longer expressions are refused: conditions and templates are one-liners, and the limit bounds parsing work.</summary>
    public const int MaxLength = 4096;

    /// <summary>Nesting deeper than this ('(', '!', calls) is refused, so a hostile document cannot overflow the stack.</summary>
    public const int MaxDepth = 64;

    private readonly IReadOnlyList<Token> _tokens;
    private int _position;
    private int _depth;

    private ExpressionParser(IReadOnlyList<Token> tokens) => _tokens = tokens;

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ExpressionException"/> with the column of the problem.</summary>
    public static Expr Parse(string text) => Parse(text, 0);

    /// <summary>Parses an expression that starts <paramref name="columnOffset"/> characters into a longer string; columns count from that string's start.</summary>
    internal static Expr Parse(string text, int columnOffset)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new ExpressionException($"expression longer than {MaxLength} characters", 1 + columnOffset);
        }

        var tokens = ExpressionLexer.Tokenize(text, columnOffset);
        var parser = new ExpressionParser(columnOffset == 0 ? tokens : tokens.Select(t => t with { Column = t.Column + columnOffset }).ToList());
        if (parser.Current.Kind == TokenKind.End)
        {
            throw new ExpressionException("empty expression", 1 + columnOffset);
        }

        var expr = parser.ParseOr();
        if (parser.Current.Kind != TokenKind.End)
        {
            throw new ExpressionException($"unexpected '{parser.Current.Text}' after the end of the expression", parser.Current.Column);
        }

        return expr;
    }

    private Token Current => _tokens[_position];

    private Token Advance() => _tokens[_position++];

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.Kind == TokenKind.Or)
        {
            var op = Advance();
            left = new BinaryExpr(BinaryOperator.Or, left, ParseAnd(), op.Column);
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseEquality();
        while (Current.Kind == TokenKind.And)
        {
            var op = Advance();
            left = new BinaryExpr(BinaryOperator.And, left, ParseEquality(), op.Column);
        }

        return left;
    }

    private Expr ParseEquality()
    {
        var left = ParseComparison();
        while (Current.Kind is TokenKind.Equal or TokenKind.NotEqual)
        {
            var op = Advance();
            var kind = op.Kind == TokenKind.Equal ? BinaryOperator.Equal : BinaryOperator.NotEqual;
            left = new BinaryExpr(kind, left, ParseComparison(), op.Column);
        }

        return left;
    }

    private Expr ParseComparison()
    {
        var left = ParseUnary();
        while (Current.Kind is TokenKind.Less or TokenKind.LessOrEqual or TokenKind.Greater or TokenKind.GreaterOrEqual)
        {
            var op = Advance();
            var kind = op.Kind switch
            {
                TokenKind.Less => BinaryOperator.Less,
                TokenKind.LessOrEqual => BinaryOperator.LessOrEqual,
                TokenKind.Greater => BinaryOperator.Greater,
                _ => BinaryOperator.GreaterOrEqual,
            };
            left = new BinaryExpr(kind, left, ParseUnary(), op.Column);
        }

        return left;
    }

    private Expr ParseUnary()
    {
        if (++_depth > MaxDepth)
        {
            throw new ExpressionException($"expression nested deeper than {MaxDepth} levels", Current.Column);
        }

        try
        {
            if (Current.Kind == TokenKind.Not)
            {
                var op = Advance();
                return new NotExpr(ParseUnary(), op.Column);
            }

            return ParsePrimary();
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.StringLiteral:
            case TokenKind.NumberLiteral:
                Advance();
                return new LiteralExpr(token.Value, token.Column);
            case TokenKind.OpenParen:
                Advance();
                var inner = ParseOr();
                Expect(TokenKind.CloseParen, "')'");
                return inner;
            case TokenKind.Identifier:
                return ParseIdentifier();
            case TokenKind.End:
                throw new ExpressionException("expected a value but the expression ended", token.Column);
            default:
                throw new ExpressionException($"expected a value but found '{token.Text}'", token.Column);
        }
    }

    private Expr ParseIdentifier()
    {
        var name = Advance();
        switch (name.Text)
        {
            case "true":
                return new LiteralExpr(true, name.Column);
            case "false":
                return new LiteralExpr(false, name.Column);
            case "null":
                return new LiteralExpr(null, name.Column);
        }

        if (Current.Kind == TokenKind.OpenParen)
        {
            return ParseCall(name);
        }

        if (!ContextRoots.Contains(name.Text))
        {
            throw new ExpressionException($"unknown name '{name.Text}' (expected parameters, steps, trigger, run, a function call or a literal)", name.Column);
        }

        var path = new List<string> { name.Text };
        while (true)
        {
            if (Current.Kind == TokenKind.Dot)
            {
                Advance();
                var key = Current;
                if (key.Kind != TokenKind.Identifier)
                {
                    throw new ExpressionException($"expected a name after '.' but found '{(key.Kind == TokenKind.End ? "end of expression" : key.Text)}'", key.Column);
                }

                Advance();
                path.Add(key.Text);
            }
            else if (Current.Kind == TokenKind.OpenBracket)
            {
                // steps['deploy.prod'] for keys that are not identifiers.
                Advance();
                var key = Current;
                if (key.Kind != TokenKind.StringLiteral)
                {
                    throw new ExpressionException("expected a quoted key inside '[ ]'", key.Column);
                }

                Advance();
                Expect(TokenKind.CloseBracket, "']'");
                path.Add((string)key.Value!);
            }
            else
            {
                return new ContextExpr(path, name.Column);
            }
        }
    }

    private CallExpr ParseCall(Token name)
    {
        if (!Functions.TryGetValue(name.Text, out var arity))
        {
            throw new ExpressionException($"unknown function '{name.Text}' (known: {string.Join(", ", Functions.Keys)})", name.Column);
        }

        Advance();
        var arguments = new List<Expr>();
        if (Current.Kind != TokenKind.CloseParen)
        {
            arguments.Add(ParseOr());
            while (Current.Kind == TokenKind.Comma)
            {
                Advance();
                arguments.Add(ParseOr());
            }
        }

        Expect(TokenKind.CloseParen, "')'");
        if (arguments.Count != arity)
        {
            throw new ExpressionException($"function '{name.Text}' takes {arity} argument(s) but was given {arguments.Count}", name.Column);
        }

        return new CallExpr(name.Text, arguments, name.Column);
    }

    private void Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind)
        {
            var found = Current.Kind == TokenKind.End ? "the end of the expression" : $"'{Current.Text}'";
            throw new ExpressionException($"expected {what} but found {found}", Current.Column);
        }

        Advance();
    }
}
