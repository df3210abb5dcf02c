namespace Pdp.Rego.Syntax;

/// <summary>Kinds of Rego tokens. Keywords are their own kinds; see <see cref="Lexer.IsKeyword"/>.</summary>
internal enum TokenKind : byte
{
    Illegal,
    Eof,
    Ident,
    Number,
    String,
    RawString,

    // keywords (Rego v1)
    Package,
    Import,
    As,
    Default,
    Else,
    Not,
    Some,
    With,
    Null,
    True,
    False,
    Every,
    Contains,
    If,
    In,

    // punctuation and operators
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Colon,
    Semicolon,
    Dot,
    Add,
    Sub,
    Mul,
    Quo,
    Rem,
    And,
    Or,
    Unify,
    Assign,
    Equal,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// <summary>
/// One token: its kind, its source span [<see cref="Start"/>, <see cref="End"/>), its 1-based position, and
/// whether whitespace or a comment (<see cref="SpaceBefore"/>) or a line break (<see cref="NewlineBefore"/>)
/// separates it from the previous token. Rego is whitespace-sensitive in two places: a ref or call continues
/// only when <c>.</c>, <c>[</c> or <c>(</c> is adjacent, and body expressions may be separated by line breaks.
/// </summary>
internal readonly struct Token
{
    public readonly int Start;
    public readonly int End;
    public readonly int Line;
    public readonly int Column;
    public readonly TokenKind Kind;
    public readonly bool SpaceBefore;
    public readonly bool NewlineBefore;

    public Token(TokenKind kind, int start, int end, int line, int column, bool spaceBefore, bool newlineBefore)
    {
        Kind = kind;
        Start = start;
        End = end;
        Line = line;
        Column = column;
        SpaceBefore = spaceBefore;
        NewlineBefore = newlineBefore;
    }
}

/// <summary>
/// Hand-written Rego lexer: one pass over the string, no regular expressions, no per-character allocation.
/// Produces the whole token array up front (the parser backtracks by index). Lexical errors become
/// <see cref="TokenKind.Illegal"/> tokens whose message is kept in <see cref="IllegalMessages"/>.
/// </summary>
internal sealed class Lexer
{
    private readonly string _src;
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    /// <summary>Messages of illegal tokens, keyed by the token's start offset.</summary>
    public Dictionary<int, string> IllegalMessages { get; } = new();

    private Lexer(string src) => _src = src;

    /// <summary>Tokenizes <paramref name="src"/>; the last token is always <see cref="TokenKind.Eof"/>.</summary>
    public static Token[] Tokenize(string src, out Dictionary<int, string> illegalMessages)
    {
        var lx = new Lexer(src);
        var list = new List<Token>(Math.Max(16, src.Length / 4));
        // A byte-order mark at the very start is ignored, as OPA does.
        if (src.Length > 0 && src[0] == '\uFEFF') { lx._pos = 1; lx._lineStart = 1; }
        while (true)
        {
            var t = lx.Next();
            list.Add(t);
            if (t.Kind == TokenKind.Eof) break;
        }
        illegalMessages = lx.IllegalMessages;
        return list.ToArray();
    }

    /// <summary>True for the Rego v1 keywords.</summary>
    public static bool IsKeyword(TokenKind k) => k is >= TokenKind.Package and <= TokenKind.In;

    /// <summary>True when <paramref name="name"/> is a Rego v1 keyword.</summary>
    public static bool IsKeywordName(ReadOnlySpan<char> name) => KeywordKind(name) != TokenKind.Ident;

    /// <summary>OPA's name of a token kind, as used in "unexpected X token" messages.</summary>
    public static string Describe(TokenKind k) => k switch
    {
        TokenKind.Illegal => "illegal",
        TokenKind.Eof => "eof",
        TokenKind.Ident => "identifier",
        TokenKind.Number => "number",
        TokenKind.String or TokenKind.RawString => "string",
        TokenKind.Package => "package",
        TokenKind.Import => "import",
        TokenKind.As => "as",
        TokenKind.Default => "default",
        TokenKind.Else => "else",
        TokenKind.Not => "not",
        TokenKind.Some => "some",
        TokenKind.With => "with",
        TokenKind.Null => "null",
        TokenKind.True => "true",
        TokenKind.False => "false",
        TokenKind.Every => "every",
        TokenKind.Contains => "contains",
        TokenKind.If => "if",
        TokenKind.In => "in",
        TokenKind.LBrack => "[",
        TokenKind.RBrack => "]",
        TokenKind.LBrace => "{",
        TokenKind.RBrace => "}",
        TokenKind.LParen => "(",
        TokenKind.RParen => ")",
        TokenKind.Comma => ",",
        TokenKind.Colon => ":",
        TokenKind.Semicolon => ";",
        TokenKind.Dot => ".",
        TokenKind.Add => "plus",
        TokenKind.Sub => "minus",
        TokenKind.Mul => "mul",
        TokenKind.Quo => "div",
        TokenKind.Rem => "rem",
        TokenKind.And => "and",
        TokenKind.Or => "or",
        TokenKind.Unify => "eq",
        TokenKind.Assign => "assign",
        TokenKind.Equal => "equal",
        TokenKind.Neq => "neq",
        TokenKind.Lt => "lt",
        TokenKind.Lte => "lte",
        TokenKind.Gt => "gt",
        TokenKind.Gte => "gte",
        _ => "unknown",
    };

    private static TokenKind KeywordKind(ReadOnlySpan<char> s) => s switch
    {
        "package" => TokenKind.Package,
        "import" => TokenKind.Import,
        "as" => TokenKind.As,
        "default" => TokenKind.Default,
        "else" => TokenKind.Else,
        "not" => TokenKind.Not,
        "some" => TokenKind.Some,
        "with" => TokenKind.With,
        "null" => TokenKind.Null,
        "true" => TokenKind.True,
        "false" => TokenKind.False,
        "every" => TokenKind.Every,
        "contains" => TokenKind.Contains,
        "if" => TokenKind.If,
        "in" => TokenKind.In,
        _ => TokenKind.Ident,
    };

    private static bool IsLetter(char c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a' || c == '_';
    private static bool IsDecimal(char c) => (uint)(c - '0') <= 9;

    private Token Next()
    {
        bool space = false, newline = false;
        var src = _src;
        // Skip whitespace and comments, remembering whether a line break was crossed.
        while (_pos < src.Length)
        {
            char c = src[_pos];
            if (c == '\n') { space = newline = true; _pos++; _line++; _lineStart = _pos; }
            else if (c is ' ' or '\t' or '\r') { space = true; _pos++; }
            else if (c == '#')
            {
                space = true;
                while (_pos < src.Length && src[_pos] != '\n') _pos++;
            }
            else break;
        }

        int start = _pos, line = _line, col = _pos - _lineStart + 1;
        if (_pos >= src.Length) return new Token(TokenKind.Eof, start, start, line, col, space, newline);

        char ch = src[_pos];
        TokenKind kind;
        if (IsLetter(ch))
        {
            _pos++;
            while (_pos < src.Length && (IsLetter(src[_pos]) || IsDecimal(src[_pos]))) _pos++;
            kind = KeywordKind(src.AsSpan(start, _pos - start));
        }
        else if (IsDecimal(ch))
        {
            kind = ScanNumber(start);
        }
        else
        {
            _pos++;
            char nx = _pos < src.Length ? src[_pos] : '\0';
            switch (ch)
            {
                case '"': kind = ScanString(start); break;
                case '`': kind = ScanRawString(start); break;
                case '[': kind = TokenKind.LBrack; break;
                case ']': kind = TokenKind.RBrack; break;
                case '{': kind = TokenKind.LBrace; break;
                case '}': kind = TokenKind.RBrace; break;
                case '(': kind = TokenKind.LParen; break;
                case ')': kind = TokenKind.RParen; break;
                case ',': kind = TokenKind.Comma; break;
                case ';': kind = TokenKind.Semicolon; break;
                case '.': kind = TokenKind.Dot; break;
                case '+': kind = TokenKind.Add; break;
                case '-': kind = TokenKind.Sub; break;
                case '*': kind = TokenKind.Mul; break;
                case '/': kind = TokenKind.Quo; break;
                case '%': kind = TokenKind.Rem; break;
                case '&': kind = TokenKind.And; break;
                case '|': kind = TokenKind.Or; break;
                case ':':
                    if (nx == '=') { _pos++; kind = TokenKind.Assign; } else kind = TokenKind.Colon;
                    break;
                case '=':
                    if (nx == '=') { _pos++; kind = TokenKind.Equal; } else kind = TokenKind.Unify;
                    break;
                case '<':
                    if (nx == '=') { _pos++; kind = TokenKind.Lte; } else kind = TokenKind.Lt;
                    break;
                case '>':
                    if (nx == '=') { _pos++; kind = TokenKind.Gte; } else kind = TokenKind.Gt;
                    break;
                case '!':
                    if (nx == '=') { _pos++; kind = TokenKind.Neq; }
                    else kind = Illegal(start, "illegal ! character");
                    break;
                case '$':
                    kind = Illegal(start, "template strings are not supported");
                    break;
                case '\0':
                    kind = Illegal(start, "illegal null character");
                    break;
                default:
                    kind = Illegal(start, "illegal token");
                    break;
            }
        }
        return new Token(kind, start, _pos, line, col, space, newline);
    }

    private TokenKind Illegal(int start, string message)
    {
        IllegalMessages.TryAdd(start, message);
        return TokenKind.Illegal;
    }

    // Number: digits [ '.' digits ] [ ('e'|'E') ['+'|'-'] digits ]; a letter glued to it makes it illegal.
    private TokenKind ScanNumber(int start)
    {
        var src = _src;
        string? error = null;
        while (_pos < src.Length && IsDecimal(src[_pos])) _pos++;
        if (_pos < src.Length && src[_pos] == '.')
        {
            _pos++;
            int f = _pos;
            while (_pos < src.Length && IsDecimal(src[_pos])) _pos++;
            if (_pos == f) error ??= "expected fraction";
        }
        if (_pos < src.Length && (src[_pos] | 0x20) == 'e')
        {
            _pos++;
            if (_pos < src.Length && src[_pos] is '+' or '-') _pos++;
            int f = _pos;
            while (_pos < src.Length && IsDecimal(src[_pos])) _pos++;
            if (_pos == f) error ??= "expected exponent";
        }
        if (_pos < src.Length && IsLetter(src[_pos]))
        {
            error ??= "illegal number format";
            while (_pos < src.Length && (IsLetter(src[_pos]) || IsDecimal(src[_pos]))) _pos++;
        }
        return error is null ? TokenKind.Number : Illegal(start, error);
    }

    // "..." with JSON escapes; a line break or the end of input before the closing quote is an error.
    private TokenKind ScanString(int start)
    {
        var src = _src;
        while (true)
        {
            if (_pos >= src.Length || src[_pos] == '\n') return Illegal(start, "non-terminated string");
            char c = src[_pos++];
            if (c == '"') return TokenKind.String;
            if (c == '\\')
            {
                char e = _pos < src.Length ? src[_pos] : '\0';
                switch (e)
                {
                    case '\\': case '"': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                        _pos++;
                        break;
                    case 'u':
                        _pos++;
                        for (int i = 0; i < 4; i++)
                        {
                            if (_pos >= src.Length || !char.IsAsciiHexDigit(src[_pos]))
                            {
                                SkipRestOfString();
                                return Illegal(start, "illegal escape sequence");
                            }
                            _pos++;
                        }
                        break;
                    default:
                        SkipRestOfString();
                        return Illegal(start, "illegal escape sequence");
                }
            }
        }
    }

    private void SkipRestOfString()
    {
        var src = _src;
        while (_pos < src.Length && src[_pos] != '\n')
        {
            char c = src[_pos++];
            if (c == '"') return;
            if (c == '\\' && _pos < src.Length && src[_pos] != '\n') _pos++;
        }
    }

    // `...`: no escapes, may span lines.
    private TokenKind ScanRawString(int start)
    {
        var src = _src;
        while (_pos < src.Length)
        {
            char c = src[_pos++];
            if (c == '`') return TokenKind.RawString;
            if (c == '\n') { _line++; _lineStart = _pos; }
        }
        return Illegal(start, "non-terminated string");
    }
}
