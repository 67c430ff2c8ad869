//! Parser from tokens to the node tree, with Go's rules: functions must exist at parse time,
//! variables must be declared before use and are scoped to their control structure, `define`
//! only at top level, `break`/`continue` only inside `range`.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::lex::{self, Keyword, Tok, Token};
use crate::value::Value;

/// Nesting limit for parentheses and control structures, so hostile input cannot exhaust the
/// stack of the parser or executor.
pub(crate) const MAX_NESTING: usize = 100;

/// One named template's body.
#[derive(Debug)]
pub(crate) struct Tree {
    /// The name given to `parse`/`add` (Go's ParseName); errors are located in it.
    pub(crate) parse_name: String,
    /// The full text the tree was parsed from, to turn byte offsets into line:column.
    pub(crate) text: Arc<str>,
    pub(crate) root: Vec<Node>,
}

impl Tree {
    /// Go's IsEmptyTree: only whitespace text (and comments, which the lexer drops).
    pub(crate) fn is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }

    /// `line:col` of a byte offset, column as Go counts it (bytes since the line start).
    pub(crate) fn location(&self, pos: usize) -> (usize, usize) {
        location(&self.text, pos)
    }
}

pub(crate) fn location(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number {
        pos: usize,
        text: String,
        value: Value,
    },
    Str {
        pos: usize,
        quoted: String,
        value: String,
    },
    /// `.a.b`
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.a.b`; `idents[0]` is the variable name with its `$`.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    /// A function name.
    Ident {
        pos: usize,
        name: String,
    },
    /// `(pipeline).a.b`
    Chain {
        pos: usize,
        node: Box<Self>,
        fields: Vec<String>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Self::Dot(p) | Self::Nil(p) | Self::Bool(p, _) => *p,
            Self::Number { pos, .. }
            | Self::Str { pos, .. }
            | Self::Field { pos, .. }
            | Self::Variable { pos, .. }
            | Self::Ident { pos, .. }
            | Self::Chain { pos, .. } => *pos,
            Self::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dot(_) => f.write_str("."),
            Self::Nil(_) => f.write_str("nil"),
            Self::Bool(_, b) => write!(f, "{b}"),
            Self::Number { text, .. } => f.write_str(text),
            Self::Str { quoted, .. } => f.write_str(quoted),
            Self::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Self::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Self::Ident { name, .. } => f.write_str(name),
            Self::Chain { node, fields, .. } => {
                if let Self::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Self::Pipe(p) => write!(f, "({p})"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{arg}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

/// A parse failure: byte offset and message; the caller turns it into a `TemplateError`.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

type PResult<T> = Result<T, ParseError>;

/// A parsed text: its top-level body and the templates it defines, in order.
pub(crate) type Parsed = (Vec<Node>, Vec<(String, Vec<Node>)>);

/// Parses `text`; returns the top-level body and every `define`/`block` found, in order.
pub(crate) fn parse(text: &str, has_function: &dyn Fn(&str) -> bool) -> PResult<Parsed> {
    let tokens = lex::lex(text).map_err(|e| ParseError {
        pos: e.pos,
        message: e.message,
    })?;
    let mut parser = Parser {
        tokens,
        next: 0,
        has_function,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        nesting: 0,
        defined: Vec::new(),
    };
    let root = parser.parse_top()?;
    Ok((root, parser.defined))
}

struct Parser<'f> {
    tokens: Vec<Token>,
    next: usize,
    has_function: &'f dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    nesting: usize,
    defined: Vec<(String, Vec<Node>)>,
}

/// What ended an item list.
enum ListEnd {
    End,
    Else(usize),
}

impl Parser<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> &Token {
        let i = self.next.min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    fn next_tok(&mut self) -> Token {
        let i = self.next.min(self.tokens.len() - 1);
        self.next = (self.next + 1).min(self.tokens.len());
        self.tokens[i].clone()
    }

    fn backup(&mut self) {
        self.next = self.next.saturating_sub(1);
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.next += 1;
        }
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next_tok()
    }

    fn unexpected<T>(&self, token: &Token, context: &str) -> PResult<T> {
        self.err(
            token.pos,
            format!("unexpected {} in {context}", token.describe()),
        )
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return self.err(pos, format!("nesting deeper than {MAX_NESTING} levels"));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof {
                return Ok(root);
            }
            if self.peek().tok == Tok::LeftDelim {
                let delim_index = self.next;
                self.next += 1;
                if self.peek_non_space().tok == Tok::Keyword(Keyword::Define) {
                    self.next_tok();
                    self.parse_definition()?;
                    continue;
                }
                self.next = delim_index;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End(pos) => return self.err(pos, "unexpected {{end}}"),
                Item::Else(pos) => return self.err(pos, "unexpected {{else}}"),
            }
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let token = self.next_non_space();
        let name = match &token.tok {
            Tok::Str(q) | Tok::RawStr(q) => unquote(q).map_err(|m| ParseError {
                pos: token.pos,
                message: m,
            })?,
            _ => return self.unexpected(&token, context),
        };
        let close = self.next_non_space();
        if close.tok != Tok::RightDelim {
            return self.unexpected(&close, context);
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let ListEnd::Else(pos) = end {
            return self.err(pos, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_definition(token.pos, name, list)
    }

    fn add_definition(&mut self, pos: usize, name: String, list: Vec<Node>) -> PResult<()> {
        let empty = |l: &[Node]| {
            l.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        if let Some(existing) = self.defined.iter_mut().find(|(n, _)| *n == name) {
            if empty(&existing.1) {
                existing.1 = list;
                return Ok(());
            }
            if !empty(&list) {
                return self.err(
                    pos,
                    format!(
                        "template: multiple definition of template {}",
                        crate::gofmt::quote(&name)
                    ),
                );
            }
            return Ok(());
        }
        self.defined.push((name, list));
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, ListEnd)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().tok == Tok::Eof {
                let pos = self.peek().pos;
                return self.err(pos, "unexpected EOF");
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End(_) => return Ok((list, ListEnd::End)),
                Item::Else(pos) => return Ok((list, ListEnd::Else(pos))),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let token = self.next_non_space();
        match token.tok {
            Tok::Text(t) => Ok(Item::Node(Node::Text(t))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let token = self.next_non_space();
        if let Tok::Keyword(k) = token.tok {
            match k {
                Keyword::Block => return self.block_control(token.pos).map(Item::Node),
                Keyword::Break | Keyword::Continue => {
                    let name = k.as_str();
                    if self.range_depth == 0 {
                        return self
                            .err(token.pos, format!("{{{{{name}}}}} outside {{{{range}}}}"));
                    }
                    let close = self.next_non_space();
                    if close.tok != Tok::RightDelim {
                        return self.unexpected(&close, &format!("{{{{{name}}}}}"));
                    }
                    return Ok(Item::Node(if k == Keyword::Break {
                        Node::Break
                    } else {
                        Node::Continue
                    }));
                }
                Keyword::Else => {
                    // `else if` / `else with`: leave the keyword for the enclosing control.
                    let peek = self.peek_non_space().tok.clone();
                    if peek == Tok::Keyword(Keyword::If) || peek == Tok::Keyword(Keyword::With) {
                        return Ok(Item::Else(token.pos));
                    }
                    let close = self.next_non_space();
                    if close.tok != Tok::RightDelim {
                        return self.unexpected(&close, "else");
                    }
                    return Ok(Item::Else(token.pos));
                }
                Keyword::End => {
                    let close = self.next_non_space();
                    if close.tok != Tok::RightDelim {
                        return self.unexpected(&close, "end");
                    }
                    return Ok(Item::End(token.pos));
                }
                Keyword::If => {
                    return self
                        .control("if", token.pos)
                        .map(|b| Item::Node(Node::If(b)));
                }
                Keyword::Range => {
                    return self
                        .control("range", token.pos)
                        .map(|b| Item::Node(Node::Range(b)));
                }
                Keyword::With => {
                    return self
                        .control("with", token.pos)
                        .map(|b| Item::Node(Node::With(b)));
                }
                Keyword::Template => return self.template_control().map(Item::Node),
                Keyword::Define => {}
            }
        }
        self.backup();
        let pipe = self.pipeline("command", &Tok::RightDelim)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str, pos: usize) -> PResult<Branch> {
        self.enter(pos)?;
        let vars_len = self.vars.len();
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let ListEnd::Else(_) = end {
            let chained = match self.peek_non_space().tok {
                Tok::Keyword(Keyword::If) if context == "if" => Some("if"),
                Tok::Keyword(Keyword::With) if context == "with" => Some("with"),
                _ => None,
            };
            if let Some(kind) = chained {
                // `{{else if b}}...{{end}}` is `{{else}}{{if b}}...{{end}}{{end}}`.
                let kw = self.next_tok();
                let branch = self.control(kind, kw.pos)?;
                let node = if kind == "if" {
                    Node::If(branch)
                } else {
                    Node::With(branch)
                };
                else_list = Some(vec![node]);
            } else {
                let (list, end) = self.item_list()?;
                if let ListEnd::Else(p) = end {
                    return self.err(p, "expected end; found {{else}}");
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(vars_len);
        self.nesting -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<(usize, String)> {
        let token = self.next_non_space();
        match &token.tok {
            Tok::Str(q) | Tok::RawStr(q) => {
                unquote(q).map(|n| (token.pos, n)).map_err(|m| ParseError {
                    pos: token.pos,
                    message: m,
                })
            }
            _ => self.unexpected(&token, context),
        }
    }

    /// `{{template "name" pipeline}}`; Go positions the node at the name.
    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let (pos, name) = self.template_name(context)?;
        let pipe = if self.next_non_space().tok == Tok::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline(context, &Tok::RightDelim)?)
        };
        Ok(Node::Template { pos, name, pipe })
    }

    fn block_control(&mut self, pos: usize) -> PResult<Node> {
        let context = "block clause";
        self.enter(pos)?;
        let (name_pos, name) = self.template_name(context)?;
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let ListEnd::Else(p) = end {
            return self.err(p, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_definition(name_pos, name.clone(), list)?;
        self.nesting -= 1;
        Ok(Node::Template {
            pos: name_pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: &Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $e :=`.
        while let Tok::Variable(name) = self.peek_non_space().tok.clone() {
            let var_index = self.next;
            let var_pos = self.peek().pos;
            self.next_tok();
            let next = self.peek_non_space().clone();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(&name) {
                        return self.err(
                            var_pos,
                            format!("undefined variable {}", crate::gofmt::quote(&name)),
                        );
                    }
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    break;
                }
                Tok::OtherChar(',') => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) | Tok::RightDelim | Tok::RightParen => continue,
                            _ => {
                                return self.err(next.pos, "range can only initialize variables");
                            }
                        }
                    }
                    return self.err(next.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.next = var_index;
                    break;
                }
            }
        }
        loop {
            let token = self.next_non_space();
            if &token.tok == end {
                if pipe.cmds.is_empty() {
                    return self.err(token.pos, format!("missing value for {context}"));
                }
                for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        cmd.args.first(),
                        Some(
                            Arg::Bool(..)
                                | Arg::Dot(_)
                                | Arg::Nil(_)
                                | Arg::Number { .. }
                                | Arg::Str { .. }
                        )
                    ) {
                        return self.err(
                            cmd.pos,
                            format!("non executable command in pipeline stage {}", i + 1),
                        );
                    }
                }
                return Ok(pipe);
            }
            match token.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.skip_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next_tok();
            match token.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some(node));
        }
        // Go positions a chained node at its first chained field.
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next_tok();
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(
                    node.pos(),
                    format!(
                        "unexpected . after term {}",
                        crate::gofmt::quote(&node.to_string())
                    ),
                );
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.tok {
            Tok::Ident(name) => {
                if !(self.has_function)(&name) {
                    return self.err(
                        pos,
                        format!("function {} not defined", crate::gofmt::quote(&name)),
                    );
                }
                Arg::Ident { pos, name }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return self.err(
                        pos,
                        format!("undefined variable {}", crate::gofmt::quote(&name)),
                    );
                }
                Arg::Variable {
                    pos,
                    idents: vec![name],
                }
            }
            Tok::Field(name) => Arg::Field {
                pos,
                idents: vec![name],
            },
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Char(text) => {
                let value = unquote_char(&text).map_err(|m| ParseError { pos, message: m })?;
                Arg::Number {
                    pos,
                    text,
                    value: Value::Int(i64::from(u32::from(value))),
                }
            }
            Tok::Number(text) => {
                let value = parse_number(&text).map_err(|m| ParseError { pos, message: m })?;
                Arg::Number { pos, text, value }
            }
            Tok::LeftParen => {
                self.enter(pos)?;
                let pipe = self.pipeline("parenthesized pipeline", &Tok::RightParen)?;
                self.nesting -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            Tok::Str(quoted) | Tok::RawStr(quoted) => {
                let value = unquote(&quoted).map_err(|m| ParseError { pos, message: m })?;
                Arg::Str { pos, quoted, value }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Item {
    Node(Node),
    End(usize),
    Else(usize),
}

/// A number constant as Go's `idealConstant` types it: floats when written with `.`, an
/// exponent or as a float literal, otherwise `int`.
fn parse_number(text: &str) -> Result<Value, String> {
    let bad = || format!("illegal number syntax: {}", crate::gofmt::quote(text));
    if text.ends_with('i') {
        return Err(format!(
            "complex number {} is not supported",
            crate::gofmt::quote(text)
        ));
    }
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return Err(bad());
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let is_float =
        radix == 10 && digits.contains(['.', 'e']) || radix == 16 && digits.contains('p');
    if !is_float {
        if digits.is_empty() {
            return Err(bad());
        }
        return match i64::from_str_radix(digits, radix) {
            Ok(v) => Ok(Value::Int(if neg { -v } else { v })),
            Err(_) => match u64::from_str_radix(digits, radix) {
                // Go would type this uint; we only have float64 left.
                Ok(v) => Ok(Value::Float(if neg { -(v as f64) } else { v as f64 })),
                Err(_) => Err(bad()),
            },
        };
    }
    if radix == 16 {
        return Err(format!(
            "hexadecimal float {} is not supported",
            crate::gofmt::quote(text)
        ));
    }
    let v: f64 = digits.parse().map_err(|_| bad())?;
    // Go's constants are exact: a float constant that is an integer still prints as float.
    Ok(Value::Float(if neg { -v } else { v }))
}

/// Go's `strconv.Unquote` for interpreted and raw strings.
pub(crate) fn unquote(quoted: &str) -> Result<String, String> {
    if let Some(raw) = quoted.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        // Go drops carriage returns from raw strings.
        return Ok(raw.replace('\r', ""));
    }
    let Some(body) = quoted.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Err("invalid syntax".to_owned());
    };
    unescape(body, '"')
}

fn unquote_char(quoted: &str) -> Result<char, String> {
    let Some(body) = quoted.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) else {
        return Err(format!("malformed character constant: {quoted}"));
    };
    let s = unescape(body, '\'')?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("malformed character constant: {quoted}")),
    }
}

fn unescape(body: &str, quote: char) -> Result<String, String> {
    let invalid = || "invalid syntax".to_owned();
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return Err(invalid());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(invalid)?;
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' | '"' if e == quote => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(n).collect();
                if hex.len() != n {
                    return Err(invalid());
                }
                let v = u32::from_str_radix(&hex, 16).map_err(|_| invalid())?;
                if e == 'x' {
                    // A byte; Go strings may hold invalid UTF-8, ours cannot.
                    out.push(char::from_u32(v).ok_or_else(invalid)?);
                } else {
                    out.push(char::from_u32(v).ok_or_else(invalid)?);
                }
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                if rest.len() != 2 {
                    return Err(invalid());
                }
                let v = u32::from_str_radix(&format!("{e}{rest}"), 8).map_err(|_| invalid())?;
                if v > 255 {
                    return Err(invalid());
                }
                out.push(char::from_u32(v).ok_or_else(invalid)?);
            }
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}
