//! Positions (line:column) of expression nodes, for annotations. The parser's AST carries no
//! positions, so they are recovered by walking the tree in source order while scanning the
//! query text for each node's first token.

use std::collections::HashMap;

use promql_parser::parser::Expr;

/// Node address → (line, column), both 1-based.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    map: HashMap<usize, (usize, usize)>,
}

struct Walker<'q> {
    query: &'q str,
    cursor: usize,
    map: HashMap<usize, (usize, usize)>,
}

impl Positions {
    pub(crate) fn compute(query: &str, expr: &Expr) -> Self {
        let mut w = Walker {
            query,
            cursor: 0,
            map: HashMap::new(),
        };
        w.walk(expr);
        Self { map: w.map }
    }

    /// `line:column` of `expr`, or `1:1` when unknown.
    pub(crate) fn of(&self, expr: &Expr) -> String {
        let (l, c) = self
            .map
            .get(&(std::ptr::from_ref(expr) as usize))
            .copied()
            .unwrap_or((1, 1));
        format!("{l}:{c}")
    }
}

impl Walker<'_> {
    fn skip_space(&mut self) {
        let rest = &self.query[self.cursor..];
        let trimmed = rest.trim_start();
        self.cursor += rest.len() - trimmed.len();
    }

    /// Records `expr` at the next occurrence of `token` (or at the cursor).
    fn mark(&mut self, expr: &Expr, token: Option<&str>) -> usize {
        self.skip_space();
        let at = token
            .and_then(|t| self.query[self.cursor..].find(t).map(|i| self.cursor + i))
            .unwrap_or(self.cursor);
        let before = &self.query[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(at, |i| at - i - 1) + 1;
        self.map
            .insert(std::ptr::from_ref(expr) as usize, (line, col));
        at
    }

    fn advance_to(&mut self, at: usize, len: usize) {
        self.cursor = (at + len).min(self.query.len());
    }

    fn walk(&mut self, expr: &Expr) {
        match expr {
            Expr::Aggregate(a) => {
                let name = a.op.to_string();
                let at = self.mark(expr, Some(&name));
                self.advance_to(at, name.len());
                if let Some(p) = &a.param {
                    self.walk(p);
                }
                self.walk(&a.expr);
            }
            Expr::Unary(u) => {
                let at = self.mark(expr, Some("-"));
                self.advance_to(at, 1);
                self.walk(&u.expr);
            }
            Expr::Binary(b) => {
                let start = self.cursor;
                self.walk(&b.lhs);
                let lhs_pos = self
                    .map
                    .get(&(std::ptr::from_ref(b.lhs.as_ref()) as usize))
                    .copied();
                if let Some(p) = lhs_pos {
                    self.map.insert(std::ptr::from_ref(expr) as usize, p);
                } else {
                    let save = self.cursor;
                    self.cursor = start;
                    self.mark(expr, None);
                    self.cursor = save;
                }
                self.walk(&b.rhs);
            }
            Expr::Paren(p) => {
                let at = self.mark(expr, Some("("));
                self.advance_to(at, 1);
                self.walk(&p.expr);
            }
            Expr::Subquery(s) => {
                let start = self.cursor;
                self.walk(&s.expr);
                if let Some(p) = self
                    .map
                    .get(&(std::ptr::from_ref(s.expr.as_ref()) as usize))
                    .copied()
                {
                    self.map.insert(std::ptr::from_ref(expr) as usize, p);
                } else {
                    let save = self.cursor;
                    self.cursor = start;
                    self.mark(expr, None);
                    self.cursor = save;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {
                self.mark(expr, None);
                let rest = &self.query[self.cursor..];
                let len = rest.find([',', ')', ' ', '\n', '\t']).unwrap_or(rest.len());
                self.cursor += len;
            }
            Expr::VectorSelector(vs) => {
                let token = vs.name.clone().unwrap_or_else(|| "{".to_owned());
                let at = self.mark(expr, Some(&token));
                self.advance_to(at, token.len());
            }
            Expr::MatrixSelector(ms) => {
                let token = ms.vs.name.clone().unwrap_or_else(|| "{".to_owned());
                let at = self.mark(expr, Some(&token));
                self.advance_to(at, token.len());
            }
            Expr::Call(c) => {
                let at = self.mark(expr, Some(c.func.name));
                self.advance_to(at, c.func.name.len());
                for a in &c.args.args {
                    self.walk(a);
                }
            }
            Expr::Extension(_) => {
                self.mark(expr, None);
            }
        }
    }
}
