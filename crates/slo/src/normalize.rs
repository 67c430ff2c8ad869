//! Canonical PromQL text for comparing generated rules semantically: parse, drop
//! parentheses (the tree already holds precedence) and print.

use tocsin_promql::promql_parser::parser::Expr;

/// `expr` parsed and printed without parentheses; Err with the parser's message.
pub fn normalize_expr(expr: &str) -> Result<String, String> {
    let parsed = tocsin_promql::parse_expr(expr).map_err(|e| e.to_string())?;
    Ok(strip(parsed).to_string())
}

fn strip(expr: Expr) -> Expr {
    match expr {
        Expr::Paren(p) => strip(*p.expr),
        Expr::Aggregate(mut a) => {
            a.expr = Box::new(strip(*a.expr));
            a.param = a.param.map(|p| Box::new(strip(*p)));
            Expr::Aggregate(a)
        }
        Expr::Unary(mut u) => {
            u.expr = Box::new(strip(*u.expr));
            Expr::Unary(u)
        }
        Expr::Binary(mut b) => {
            b.lhs = Box::new(strip(*b.lhs));
            b.rhs = Box::new(strip(*b.rhs));
            Expr::Binary(b)
        }
        Expr::Subquery(mut s) => {
            s.expr = Box::new(strip(*s.expr));
            Expr::Subquery(s)
        }
        Expr::Call(mut c) => {
            c.args.args = c
                .args
                .args
                .into_iter()
                .map(|a| Box::new(strip(*a)))
                .collect();
            Expr::Call(c)
        }
        other => other,
    }
}
