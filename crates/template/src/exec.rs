//! Execution of a parsed template: Go's `text/template/exec.go` semantics over [`Value`].
//!
//! Like Go, the executor remembers the last node it visited (`at`) and reports errors there,
//! so positions and contexts in messages match Go's.

use std::fmt;

use crate::gofmt;
use crate::parse::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::value::Value;
use crate::{Func, MissingKey, Template, TemplateError};

/// How a list of nodes ended.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node errors are reported at (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'t> {
    Start,
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
    Template {
        pos: usize,
        name: &'t str,
        pipe: Option<&'t Pipe>,
    },
    Text,
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            Self::Start | Self::Text => 0,
            Self::Pipe(p) => p.pos,
            Self::Command(c) => c.pos,
            Self::Arg(a) => a.pos(),
            Self::Template { pos, .. } => *pos,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start | Self::Text => Ok(()),
            Self::Pipe(p) => write!(f, "{p}"),
            Self::Command(c) => write!(f, "{c}"),
            Self::Arg(a) => write!(f, "{a}"),
            Self::Template { name, pipe, .. } => {
                write!(f, "{{{{template {}", gofmt::quote(name))?;
                if let Some(p) = pipe {
                    write!(f, " {p}")?;
                }
                f.write_str("}}")
            }
        }
    }
}

struct State<'t> {
    tmpl: &'t Template,
    /// The functions in effect (the template's own, or ones bound to this execution).
    funcs: &'t crate::Funcs,
    /// The template being executed, for error messages.
    name: &'t str,
    tree: &'t Tree,
    at: At<'t>,
    out: String,
    vars: Vec<(&'t str, Value)>,
    depth: usize,
    /// Nested control structures, template calls and parenthesised pipelines being run.
    nesting: usize,
    steps: u64,
}

/// Bound on `State::nesting`: each level costs a few stack frames, and a template set may
/// nest `{{template}}` calls inside deeply nested structures; this keeps the worst case well
/// inside a 2 MiB thread stack.
const MAX_NESTING: usize = 100;

/// What a parenthesised pipeline counts against [`MAX_NESTING`].
const PIPE_WEIGHT: usize = 3;

type ExecResult<T> = Result<T, TemplateError>;

pub(crate) fn execute(
    tmpl: &Template,
    funcs: &crate::Funcs,
    name: &str,
    tree: &Tree,
    data: &Value,
) -> ExecResult<String> {
    let mut state = State {
        tmpl,
        funcs,
        name,
        tree,
        at: At::Start,
        out: String::new(),
        vars: vec![("$", data.clone())],
        depth: 0,
        nesting: 0,
        steps: 0,
    };
    state.walk_list(data, &tree.root)?;
    Ok(state.out)
}

impl<'t> State<'t> {
    fn at(&mut self, at: At<'t>) {
        self.at = at;
    }

    /// An error at the current node, formatted as Go's `state.errorf`.
    fn fail(&self, message: impl Into<String>) -> TemplateError {
        let message = message.into();
        if matches!(self.at, At::Start) {
            return TemplateError::Template {
                template: self.name.to_owned(),
                message,
            };
        }
        let (line, col) = self.tree.location(self.at.pos());
        TemplateError::Exec {
            location: format!("{}:{line}:{col}", self.tree.parse_name),
            template: self.name.to_owned(),
            context: self.at.to_string(),
            message,
        }
    }

    fn step(&mut self) -> ExecResult<()> {
        self.steps += 1;
        if self.steps > self.tmpl.limits.max_steps {
            return Err(self.fail(format!(
                "execution exceeded {} steps",
                self.tmpl.limits.max_steps
            )));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> ExecResult<()> {
        if self.out.len() + s.len() > self.tmpl.limits.max_output_bytes {
            return Err(self.fail(format!(
                "output exceeds {} bytes",
                self.tmpl.limits.max_output_bytes
            )));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'t [Node]) -> ExecResult<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> ExecResult<Flow> {
        self.step()?;
        if matches!(
            node,
            Node::If(_) | Node::With(_) | Node::Range(_) | Node::Template { .. }
        ) {
            self.enter(1)?;
            let flow = self.walk_nested(dot, node);
            self.nesting -= 1;
            return flow;
        }
        self.walk_nested(dot, node)
    }

    /// Enters a nested construct costing `weight` levels.
    fn enter(&mut self, weight: usize) -> ExecResult<()> {
        if self.nesting + weight > MAX_NESTING {
            return Err(self.fail(format!("exceeded maximum nesting depth ({MAX_NESTING})")));
        }
        self.nesting += weight;
        Ok(())
    }

    fn walk_nested(&mut self, dot: &Value, node: &'t Node) -> ExecResult<Flow> {
        match node {
            Node::Text(text) => {
                self.at(At::Text);
                self.write(text)?;
            }
            Node::Action(pipe) => {
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let printed = match &value {
                        Value::Nil => "<no value>".to_owned(),
                        v => gofmt::sprint(std::slice::from_ref(v)),
                    };
                    self.write(&printed)?;
                }
            }
            Node::If(branch) => return self.walk_if_or_with(dot, branch, false),
            Node::With(branch) => return self.walk_if_or_with(dot, branch, true),
            Node::Range(branch) => return self.walk_range(dot, branch),
            Node::Template { pos, name, pipe } => {
                let at = At::Template {
                    pos: *pos,
                    name,
                    pipe: pipe.as_ref(),
                };
                self.at(at);
                let Some((tree_name, tree)) = self.tmpl.trees.get_key_value(name.as_str()) else {
                    return Err(self.fail(format!("template {} not defined", gofmt::quote(name))));
                };
                if self.depth >= self.tmpl.limits.max_template_depth {
                    return Err(self.fail(format!(
                        "exceeded maximum template depth ({})",
                        self.tmpl.limits.max_template_depth
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                self.run_template(tree_name, tree, &new_dot)?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    /// Runs another template of the set with its own variables (`$` is the new dot).
    fn run_template(&mut self, name: &'t str, tree: &'t Tree, dot: &Value) -> ExecResult<()> {
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let saved_name = std::mem::replace(&mut self.name, name);
        let saved_at = self.at;
        self.depth += 1;
        let result = self.walk_list(dot, &tree.root);
        self.depth -= 1;
        self.vars = saved_vars;
        self.tree = saved_tree;
        self.name = saved_name;
        if result.is_ok() {
            self.at = saved_at;
        }
        result.map(|_| ())
    }

    fn walk_if_or_with(&mut self, dot: &Value, branch: &'t Branch, with: bool) -> ExecResult<Flow> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &branch.pipe)?;
        let flow = if value.is_true() {
            let new_dot = if with { &value } else { dot };
            self.walk_list(new_dot, &branch.list)
        } else if let Some(else_list) = &branch.else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        flow
    }

    fn walk_range(&mut self, dot: &Value, branch: &'t Branch) -> ExecResult<Flow> {
        let mark = self.vars.len();
        let pipe = &branch.pipe;
        let value = self.eval_pipeline(dot, pipe)?;
        let items: Vec<(Value, Value)> = match value {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, e)| (Value::Int(i as i64), e))
                .collect(),
            Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    return Err(self.fail(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                // Each iteration is a step; refuse counts the step limit could never allow.
                if n.max(0) as u64 > self.tmpl.limits.max_steps {
                    return Err(self.fail(format!(
                        "execution exceeded {} steps",
                        self.tmpl.limits.max_steps
                    )));
                }
                (0..n.max(0))
                    .map(|i| (Value::Int(i), Value::Int(i)))
                    .collect()
            }
            Value::Nil => Vec::new(),
            other => {
                return Err(self.fail(format!(
                    "range can't iterate over {}",
                    gofmt::sprint(std::slice::from_ref(&other))
                )));
            }
        };
        let empty = items.is_empty();
        for (index, elem) in items {
            self.step()?;
            let iteration_mark = self.vars.len();
            self.set_range_vars(pipe, mark, &index, &elem);
            let flow = self.walk_list(&elem, &branch.list)?;
            self.vars.truncate(iteration_mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        let flow = match (&branch.else_list, empty) {
            (Some(else_list), true) => self.walk_list(dot, else_list)?,
            _ => Flow::Normal,
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    /// Binds `$e` or `$i, $e` for one iteration. Declared variables were pushed by the
    /// pipeline right after `mark`; assigned ones are existing variables.
    fn set_range_vars(&mut self, pipe: &Pipe, mark: usize, index: &Value, elem: &Value) {
        match (pipe.decl.len(), pipe.is_assign) {
            (0, _) => {}
            (1, false) => self.vars[mark].1 = elem.clone(),
            (_, false) => {
                self.vars[mark].1 = index.clone();
                self.vars[mark + 1].1 = elem.clone();
            }
            (1, true) => self.set_var(&pipe.decl[0], elem.clone()),
            (_, true) => {
                self.set_var(&pipe.decl[0], index.clone());
                self.set_var(&pipe.decl[1], elem.clone());
            }
        }
    }

    fn set_var(&mut self, name: &str, value: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = value;
        }
    }

    fn var(&self, name: &str) -> ExecResult<Value> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.fail(format!("undefined variable: {name}"))),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> ExecResult<Value> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'t Command,
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        let Some(first) = cmd.args.first() else {
            return Err(self.fail("empty command"));
        };
        let rest = &cmd.args[1..];
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                self.eval_field_chain(dot, dot, idents, rest, fin)
            }
            Arg::Chain { .. } => self.eval_chain(dot, first, rest, fin),
            Arg::Ident { name, .. } => {
                self.eval_function(dot, first, name, At::Command(cmd), rest, fin)
            }
            Arg::Pipe(p) => {
                Self::not_a_function(self, first, rest, fin.as_ref())?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { idents, .. } => {
                self.at(At::Arg(first));
                let value = self.var(&idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(first, rest, fin.as_ref())?;
                    return Ok(value);
                }
                self.eval_field_chain(dot, &value, &idents[1..], rest, fin)
            }
            Arg::Nil(_) | Arg::Bool(..) | Arg::Dot(_) | Arg::Number { .. } | Arg::Str { .. } => {
                self.at(At::Arg(first));
                self.not_a_function(first, rest, fin.as_ref())?;
                if matches!(first, Arg::Nil(_)) {
                    return Err(self.fail("nil is not a command"));
                }
                self.eval_arg(dot, first)
            }
        }
    }

    fn not_a_function(&self, first: &Arg, rest: &[Arg], fin: Option<&Value>) -> ExecResult<()> {
        if !rest.is_empty() || fin.is_some() {
            return Err(self.fail(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'t Arg,
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.fail("internal error: not a chain"));
        };
        if matches!(node.as_ref(), Arg::Nil(_)) {
            return Err(self.fail(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, node)?;
        self.eval_field_chain(dot, &receiver, fields, args, fin)
    }

    /// Evaluates `.a.b.c` on `receiver`, cloning only what each step selects.
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: &Value,
        idents: &[String],
        args: &'t [Arg],
        mut fin: Option<Value>,
    ) -> ExecResult<Value> {
        let n = idents.len();
        let mut owned: Option<Value> = None;
        for (i, ident) in idents.iter().enumerate() {
            let last = i + 1 == n;
            let current = owned.as_ref().unwrap_or(receiver);
            let next = if let Some(method) = self.funcs.method(current, ident).cloned() {
                let at = self.at;
                let values = if last {
                    let current = current.clone();
                    let values = self.eval_args(dot, args, fin.take())?;
                    owned = Some(current);
                    values
                } else {
                    Vec::new()
                };
                let current = owned.as_ref().unwrap_or(receiver);
                let result = method(current, &values).map_err(|message| {
                    self.at = at;
                    // Go checks a method's arity before calling it, so that message is not
                    // an "error calling".
                    if message.starts_with("wrong number of args for ") {
                        self.fail(message)
                    } else {
                        self.fail(format!("error calling {ident}: {message}"))
                    }
                })?;
                self.at = at;
                self.check_size(ident, &result)?;
                result
            } else {
                let has_args = last && (!args.is_empty() || fin.is_some());
                self.eval_field(ident, current, has_args)?
            };
            owned = Some(next);
        }
        Ok(owned.unwrap_or_else(|| receiver.clone()))
    }

    fn eval_field(&self, name: &str, receiver: &Value, has_args: bool) -> ExecResult<Value> {
        match receiver {
            Value::Nil => {
                if self.tmpl.missing_key == MissingKey::Error {
                    return Err(
                        self.fail(format!("nil data; no entry for key {}", gofmt::quote(name)))
                    );
                }
                Ok(Value::Nil)
            }
            Value::Map(map) => {
                if has_args {
                    return Err(self.fail(format!("{name} is not a method but has arguments")));
                }
                if let Some(v) = map.get(name) {
                    return Ok(v.clone());
                }
                match self.tmpl.missing_key {
                    MissingKey::Default => Ok(Value::Nil),
                    MissingKey::Zero => Ok(Value::zero_of_map_elem(map)),
                    MissingKey::Error => {
                        Err(self.fail(format!("map has no entry for key {}", gofmt::quote(name))))
                    }
                }
            }
            other => Err(self.fail(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            ))),
        }
    }

    fn eval_arg(&mut self, dot: &Value, arg: &'t Arg) -> ExecResult<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number { value, .. } => Ok(value.clone()),
            Arg::Str { value, .. } => Ok(Value::String(value.clone())),
            Arg::Field { idents, .. } => self.eval_field_chain(dot, dot, idents, &[], None),
            Arg::Variable { idents, .. } => {
                let value = self.var(&idents[0])?;
                if idents.len() == 1 {
                    return Ok(value);
                }
                self.eval_field_chain(dot, &value, &idents[1..], &[], None)
            }
            Arg::Pipe(pipe) => {
                // A parenthesised pipeline recurses through several large frames.
                self.enter(PIPE_WEIGHT)?;
                let value = self.eval_pipeline(dot, pipe);
                self.nesting -= PIPE_WEIGHT;
                value
            }
            Arg::Ident { name, .. } => self.eval_function(dot, arg, name, At::Arg(arg), &[], None),
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None),
        }
    }

    /// Calls a function; `call_site` is where "error calling" is reported (the command, or
    /// the identifier when a function is used as an argument).
    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'t Arg,
        name: &str,
        call_site: At<'t>,
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(At::Arg(ident));
        let Some(func) = self.funcs.get(name).cloned() else {
            return Err(self.fail(format!("{} is not a defined function", gofmt::quote(name))));
        };
        let count = args.len() + usize::from(fin.is_some());
        let wrong_count =
            |want: String| format!("wrong number of args for {name}: {want} got {count}");
        match func {
            Func::And | Func::Or => {
                if count == 0 {
                    return Err(self.fail(wrong_count("want at least 1".to_owned())));
                }
                let want = matches!(func, Func::Or);
                let mut last = Value::Nil;
                for arg in args {
                    last = self.eval_arg(dot, arg)?;
                    if last.is_true() == want {
                        return Ok(last);
                    }
                }
                if let Some(f) = fin {
                    last = f;
                }
                Ok(last)
            }
            Func::Call => {
                if count == 0 {
                    return Err(self.fail(wrong_count("want at least 1".to_owned())));
                }
                let values = self.eval_args(dot, args, fin)?;
                let message = match values.first() {
                    Some(Value::Nil) | None => "call of nil".to_owned(),
                    Some(v) => format!("non-function of type {}", v.type_name()),
                };
                self.at(call_site);
                Err(self.fail(format!("error calling call: {message}")))
            }
            Func::Tmpl => {
                if count != 2 {
                    return Err(self.fail(wrong_count("want 2".to_owned())));
                }
                let values = self.eval_args(dot, args, fin)?;
                self.at(call_site);
                let Value::String(template) = &values[0] else {
                    return Err(self.fail(format!(
                        "error calling {name}: wrong type for value; expected string; got {}",
                        values[0].type_name()
                    )));
                };
                let Some((tree_name, tree)) = self.tmpl.trees.get_key_value(template.as_str())
                else {
                    return Err(self.fail(format!(
                        "error calling {name}: template: no template {} associated with template {}",
                        gofmt::quote(template),
                        gofmt::quote(&self.tmpl.name)
                    )));
                };
                if self.depth >= self.tmpl.limits.max_template_depth {
                    return Err(self.fail(format!(
                        "exceeded maximum template depth ({})",
                        self.tmpl.limits.max_template_depth
                    )));
                }
                let saved_out = std::mem::take(&mut self.out);
                let result = self.run_template(tree_name, tree, &values[1]);
                let produced = std::mem::replace(&mut self.out, saved_out);
                result?;
                if self.out.len() + produced.len() > self.tmpl.limits.max_output_bytes {
                    return Err(self.fail(format!(
                        "output exceeds {} bytes",
                        self.tmpl.limits.max_output_bytes
                    )));
                }
                Ok(Value::String(produced))
            }
            Func::Plain { f, arity } => {
                if let Some((min, max)) = arity
                    && (count < min || max.is_some_and(|m| count > m))
                {
                    let want = match max {
                        Some(m) if m == min => format!("want {min}"),
                        _ => format!("want at least {min}"),
                    };
                    return Err(self.fail(wrong_count(want)));
                }
                let values = self.eval_args(dot, args, fin)?;
                let result = f(&values).map_err(|message| {
                    self.at(call_site);
                    self.fail(format!("error calling {name}: {message}"))
                })?;
                self.check_size(name, &result)?;
                Ok(result)
            }
        }
    }

    /// Values only grow through function results, so bounding each result (by the output
    /// limit) bounds memory: `{{ $x = print $x $x }}` in a loop cannot double forever.
    fn check_size(&self, name: &str, value: &Value) -> ExecResult<()> {
        let limit = self.tmpl.limits.max_output_bytes;
        if size_exceeds(value, limit) {
            return Err(self.fail(format!("result of {name} exceeds {limit} bytes")));
        }
        Ok(())
    }

    fn eval_args(
        &mut self,
        dot: &Value,
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> ExecResult<Vec<Value>> {
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.eval_arg(dot, arg)?);
        }
        if let Some(f) = fin {
            values.push(f);
        }
        Ok(values)
    }
}

/// Whether a value's approximate size is over `limit`; stops counting once it is.
fn size_exceeds(value: &Value, limit: usize) -> bool {
    fn add(value: &Value, total: &mut usize, limit: usize) -> bool {
        *total += match value {
            Value::String(s) => s.len(),
            _ => 8,
        };
        if *total > limit {
            return true;
        }
        match value {
            Value::List(items) => items.iter().any(|v| add(v, total, limit)),
            Value::Map(map) => map.iter().any(|(k, v)| {
                *total += k.len();
                add(v, total, limit)
            }),
            _ => false,
        }
    }
    let mut total = 0;
    add(value, &mut total, limit)
}
