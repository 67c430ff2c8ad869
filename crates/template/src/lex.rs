//! Lexer for Go's text/template syntax, following the token rules of Go's `text/template/parse`
//! (trim markers `{{- ` and ` -}}`, comments, quoted and raw strings, numbers, fields).

/// Keywords of the action language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "block" => Self::Block,
            "break" => Self::Break,
            "continue" => Self::Continue,
            "define" => Self::Define,
            "else" => Self::Else,
            "end" => Self::End,
            "if" => Self::If,
            "range" => Self::Range,
            "template" => Self::Template,
            "with" => Self::With,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Break => "break",
            Self::Continue => "continue",
            Self::Define => "define",
            Self::Else => "else",
            Self::End => "end",
            Self::If => "if",
            Self::Range => "range",
            Self::Template => "template",
            Self::With => "with",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Bool(bool),
    /// A character constant, quotes included.
    Char(String),
    Number(String),
    /// An interpreted string, quotes included.
    Str(String),
    /// A raw string, backquotes included.
    RawStr(String),
    Ident(String),
    Keyword(Keyword),
    /// `$` or `$name`.
    Variable(String),
    /// `.name`, stored without the dot.
    Field(String),
    Dot,
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    /// Any other printable ASCII character (`,` in range declarations).
    OtherChar(char),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// Byte offset in the template text.
    pub(crate) pos: usize,
}

impl Token {
    /// How Go's parser names a token in "unexpected X" messages.
    pub(crate) fn describe(&self) -> String {
        let val = match &self.tok {
            Tok::Eof => return "EOF".to_owned(),
            Tok::Keyword(k) => return format!("<{}>", k.as_str()),
            Tok::Nil => return "<nil>".to_owned(),
            // Go's lexer classes `.` with the keywords.
            Tok::Dot => return "<.>".to_owned(),
            Tok::Text(s)
            | Tok::Char(s)
            | Tok::Number(s)
            | Tok::Str(s)
            | Tok::RawStr(s)
            | Tok::Ident(s)
            | Tok::Variable(s) => s.clone(),
            Tok::Field(s) => format!(".{s}"),
            Tok::Bool(b) => b.to_string(),
            Tok::LeftDelim => "{{".to_owned(),
            Tok::RightDelim => "}}".to_owned(),
            Tok::Space => " ".to_owned(),
            Tok::Pipe => "|".to_owned(),
            Tok::LeftParen => "(".to_owned(),
            Tok::RightParen => ")".to_owned(),
            Tok::Declare => ":=".to_owned(),
            Tok::Assign => "=".to_owned(),
            Tok::OtherChar(c) => c.to_string(),
        };
        if val.chars().count() > 10 {
            let short: String = val.chars().take(10).collect();
            format!("{}...", crate::gofmt::quote(&short))
        } else {
            crate::gofmt::quote(&val)
        }
    }
}

/// A lexing error: byte offset and message.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn has_left_trim(rest: &str) -> bool {
    let b = rest.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(rest: &str) -> bool {
    let b = rest.as_bytes();
    b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
}

/// Splits template text into tokens.
pub(crate) fn lex(input: &str) -> Result<Vec<Token>, LexError> {
    Lexer {
        input,
        pos: 0,
        tokens: Vec::new(),
        paren_depth: 0,
    }
    .run()
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    paren_depth: usize,
}

impl Lexer<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            message: message.into(),
        })
    }

    fn emit(&mut self, tok: Tok, pos: usize) {
        self.tokens.push(Token { tok, pos });
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn run(mut self) -> Result<Vec<Token>, LexError> {
        let mut trim_leading = false;
        loop {
            if trim_leading {
                let skipped = self.rest().len()
                    - self
                        .rest()
                        .trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8))
                        .len();
                self.pos += skipped;
            }
            let Some(found) = self.rest().find(LEFT) else {
                if self.pos < self.input.len() {
                    let text = self.rest().to_owned();
                    self.emit(Tok::Text(text), self.pos);
                }
                self.emit(Tok::Eof, self.input.len());
                return Ok(self.tokens);
            };
            let delim_pos = self.pos + found;
            let after_delim = delim_pos + LEFT.len();
            let trim = has_left_trim(&self.input[after_delim..]);
            let mut text = &self.input[self.pos..delim_pos];
            if trim {
                text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            }
            if !text.is_empty() {
                let text = text.to_owned();
                self.emit(Tok::Text(text), self.pos);
            }
            self.pos = after_delim + if trim { 2 } else { 0 };
            if self.rest().starts_with("/*") {
                trim_leading = self.lex_comment(delim_pos)?;
                continue;
            }
            self.emit(Tok::LeftDelim, delim_pos);
            trim_leading = self.lex_inside_action()?;
        }
    }

    /// Skips a comment; returns whether the closing delimiter trims.
    fn lex_comment(&mut self, delim_pos: usize) -> Result<bool, LexError> {
        let body_start = self.pos + 2;
        let Some(end) = self.input[body_start..].find("*/") else {
            return self.err(delim_pos, "unclosed comment");
        };
        self.pos = body_start + end + 2;
        if has_right_trim(self.rest()) && self.rest()[2..].starts_with(RIGHT) {
            self.pos += 2 + RIGHT.len();
            return Ok(true);
        }
        if self.rest().starts_with(RIGHT) {
            self.pos += RIGHT.len();
            return Ok(false);
        }
        self.err(delim_pos, "comment ends before closing delimiter")
    }

    /// Returns (is the input at a right delimiter, does it trim).
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    /// Lexes one action up to and including its right delimiter; returns whether it trims.
    fn lex_inside_action(&mut self) -> Result<bool, LexError> {
        loop {
            let (at_delim, trim) = self.at_right_delim();
            if at_delim {
                if self.paren_depth > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                let start = self.pos;
                self.pos += if trim { 2 } else { 0 } + RIGHT.len();
                self.emit(Tok::RightDelim, start);
                return Ok(trim);
            }
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                return self.err(start, "unclosed action");
            };
            if c.is_ascii() && is_space(c as u8) {
                // A run of spaces, stopping before a trim-marked right delimiter.
                let mut end = self.pos;
                let bytes = self.input.as_bytes();
                while end < bytes.len() && is_space(bytes[end]) {
                    if has_right_trim(&self.input[end..])
                        && self.input[end + 2..].starts_with(RIGHT)
                    {
                        break;
                    }
                    end += 1;
                }
                if end > self.pos {
                    self.pos = end;
                    self.emit(Tok::Space, start);
                }
                continue;
            }
            self.pos += c.len_utf8();
            match c {
                '=' => self.emit(Tok::Assign, start),
                ':' => {
                    if self.peek_char() != Some('=') {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 1;
                    self.emit(Tok::Declare, start);
                }
                '|' => self.emit(Tok::Pipe, start),
                '"' => self.lex_quote(start, '"', "unterminated quoted string")?,
                '\'' => self.lex_quote(start, '\'', "unterminated character constant")?,
                '`' => {
                    let Some(end) = self.rest().find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    self.pos += end + 1;
                    let raw = self.input[start..self.pos].to_owned();
                    self.emit(Tok::RawStr(raw), start);
                }
                '$' => self.lex_field_or_variable(start, true)?,
                '.' if !self.peek_char().is_some_and(|c| c.is_ascii_digit()) => {
                    self.lex_field_or_variable(start, false)?;
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos = start;
                    self.lex_number(start)?;
                }
                c if is_alnum(c) => {
                    self.pos = start;
                    self.lex_identifier(start)?;
                }
                '(' => {
                    self.emit(Tok::LeftParen, start);
                    self.paren_depth += 1;
                }
                ')' => {
                    // An unmatched one is reported by the parser ("unexpected \")\" in ...").
                    self.paren_depth = self.paren_depth.saturating_sub(1);
                    self.emit(Tok::RightParen, start);
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::OtherChar(c), start),
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: U+{:04X}", c as u32),
                    );
                }
            }
        }
    }

    fn lex_quote(&mut self, start: usize, quote: char, unterminated: &str) -> Result<(), LexError> {
        loop {
            let Some(c) = self.peek_char() else {
                return self.err(start, unterminated);
            };
            self.pos += c.len_utf8();
            match c {
                '\\' => match self.peek_char() {
                    Some(n) if n != '\n' => self.pos += n.len_utf8(),
                    _ => return self.err(start, unterminated),
                },
                '\n' => return self.err(start, unterminated),
                c if c == quote => break,
                _ => {}
            }
        }
        let raw = self.input[start..self.pos].to_owned();
        let tok = if quote == '"' {
            Tok::Str(raw)
        } else {
            Tok::Char(raw)
        };
        self.emit(tok, start);
        Ok(())
    }

    fn at_terminator(&self) -> bool {
        let Some(c) = self.peek_char() else {
            return true;
        };
        if c.is_ascii() && is_space(c as u8) {
            return true;
        }
        if matches!(c, '.' | ',' | '|' | ':' | ')' | '(') {
            return true;
        }
        self.rest().starts_with(RIGHT)
    }

    /// `$name`, `$`, `.name` or `.`; the sigil is already consumed.
    fn lex_field_or_variable(&mut self, start: usize, variable: bool) -> Result<(), LexError> {
        if self.at_terminator() {
            if variable {
                self.emit(Tok::Variable("$".to_owned()), start);
            } else {
                self.emit(Tok::Dot, start);
            }
            return Ok(());
        }
        let name_start = self.pos;
        while let Some(c) = self.peek_char() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or(' ');
            return self.err(self.pos, format!("bad character U+{:04X} '{c}'", c as u32));
        }
        let name = self.input[name_start..self.pos].to_owned();
        if variable {
            self.emit(Tok::Variable(format!("${name}")), start);
        } else {
            self.emit(Tok::Field(name), start);
        }
        Ok(())
    }

    fn lex_identifier(&mut self, start: usize) -> Result<(), LexError> {
        while let Some(c) = self.peek_char() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek_char().unwrap_or(' ');
            return self.err(self.pos, format!("bad character U+{:04X} '{c}'", c as u32));
        }
        let word = &self.input[start..self.pos];
        let tok = match word {
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            "nil" => Tok::Nil,
            w => match Keyword::from_word(w) {
                Some(k) => Tok::Keyword(k),
                None => Tok::Ident(w.to_owned()),
            },
        };
        self.emit(tok, start);
        Ok(())
    }

    /// Scans a Go number literal loosely (as Go's lexer does) and leaves validation to the
    /// parser.
    fn lex_number(&mut self, start: usize) -> Result<(), LexError> {
        let bytes = self.input.as_bytes();
        let mut i = self.pos;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        let mut exp: &[u8] = b"eE";
        if i + 1 < bytes.len() && bytes[i] == b'0' {
            match bytes[i + 1] {
                b'x' | b'X' => {
                    i += 2;
                    digits = b"0123456789abcdefABCDEF_";
                    exp = b"pP";
                }
                b'o' | b'O' => {
                    i += 2;
                    digits = b"01234567_";
                    exp = b"";
                }
                b'b' | b'B' => {
                    i += 2;
                    digits = b"01_";
                    exp = b"";
                }
                _ => {}
            }
        }
        while i < bytes.len() && digits.contains(&bytes[i]) {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && digits.contains(&bytes[i]) {
                i += 1;
            }
        }
        if !exp.is_empty() && i < bytes.len() && exp.contains(&bytes[i]) {
            i += 1;
            if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                i += 1;
            }
            while i < bytes.len() && b"0123456789_".contains(&bytes[i]) {
                i += 1;
            }
        }
        if i < bytes.len() && bytes[i] == b'i' {
            i += 1;
        }
        self.pos = i;
        if self.peek_char().is_some_and(is_alnum) {
            let end = self
                .rest()
                .find(|c: char| !is_alnum(c))
                .map_or(self.input.len(), |e| self.pos + e);
            return self.err(
                start,
                format!(
                    "bad number syntax: {}",
                    crate::gofmt::quote(&self.input[start..end])
                ),
            );
        }
        let text = self.input[start..self.pos].to_owned();
        self.emit(Tok::Number(text), start);
        Ok(())
    }
}
