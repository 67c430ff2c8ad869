//! Go `text/template` for tocsin: rule annotations and labels (Prometheus) and notification
//! templates (Alertmanager) use the same syntax and functions as upstream.
//!
//! The engine is ours (lexer, parser, executor) and follows Go's `text/template` semantics;
//! [`prometheus`] adds Prometheus's template functions and its annotation expander,
//! [`alertmanager`] Alertmanager's functions. See `docs/templates.md`.

mod builtins;
mod error;
mod exec;
mod gofmt;
mod gotime;
mod lex;
mod parse;
mod value;

pub mod alertmanager;
pub mod prometheus;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

pub use error::TemplateError;
pub use gotime::GoTime;
pub use value::Value;

/// A template function: arguments in, a value or an error message out. Errors are reported
/// as Go does: `error calling NAME: MESSAGE`.
pub type Function = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// A method: the receiver and the arguments in, a value or an error message out.
pub type Method = Arc<dyn Fn(&Value, &[Value]) -> Result<Value, String> + Send + Sync>;

/// Which values a method applies to. Go resolves methods by the receiver's type; our values
/// are untyped, so a method applies to every map, or every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodReceiver {
    /// Maps (Alertmanager's `KV`, an alert).
    Map,
    /// Lists (Alertmanager's `Alerts`, `Pairs`).
    List,
    /// Times (`time.Time`).
    Time,
}

/// How a function is run: most take evaluated arguments; a few need the executor.
#[derive(Clone)]
pub(crate) enum Func {
    Plain {
        f: Function,
        /// Minimum and maximum number of arguments (None: variadic), checked before the call
        /// with Go's message.
        arity: Option<(usize, Option<usize>)>,
    },
    /// `and`/`or`: evaluate arguments lazily, return the deciding one.
    And,
    Or,
    /// Go's `call`; our values hold no functions, so it always reports why.
    Call,
    /// Prometheus's `tmpl NAME DATA`: executes another template to a string.
    Tmpl,
}

/// Functions and methods by name.
#[derive(Clone, Default)]
struct FuncTable {
    funcs: HashMap<String, Func>,
    methods: HashMap<(MethodReceiver, String), Method>,
}

/// A set of template functions by name. Go's builtins are always available; these add to or
/// override them.
///
/// Cloning is cheap: a set is a shared frozen layer (e.g. the builtins) plus the few entries
/// added since, so per-evaluation additions (`query` bound to a time) do not copy the rest.
#[derive(Clone, Default)]
pub struct Funcs {
    shared: Arc<FuncTable>,
    local: FuncTable,
    /// Whether Go's builtins are present, so parsing need not merge them again.
    has_builtins: bool,
}

impl fmt::Debug for Funcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self
            .shared
            .funcs
            .keys()
            .chain(self.local.funcs.keys())
            .collect();
        names.sort();
        names.dedup();
        let mut methods: Vec<String> = self
            .shared
            .methods
            .keys()
            .chain(self.local.methods.keys())
            .map(|(r, n)| format!("{r:?}.{n}"))
            .collect();
        methods.sort();
        methods.dedup();
        f.debug_struct("Funcs")
            .field("names", &names)
            .field("methods", &methods)
            .finish()
    }
}

impl Funcs {
    /// Go's builtin functions: `and or not len index slice print printf println html js
    /// urlquery eq ne lt le gt ge call`.
    pub fn builtins() -> Self {
        static BUILTINS: OnceLock<Arc<FuncTable>> = OnceLock::new();
        let shared = BUILTINS.get_or_init(|| {
            let mut funcs = Self::default();
            builtins::register(&mut funcs);
            Arc::new(funcs.local)
        });
        Self {
            shared: Arc::clone(shared),
            local: FuncTable::default(),
            has_builtins: true,
        }
    }

    /// Makes the entries added so far part of the shared layer, so clones stop copying them.
    pub(crate) fn freeze(mut self) -> Self {
        if self.local.funcs.is_empty() && self.local.methods.is_empty() {
            return self;
        }
        let shared = Arc::make_mut(&mut self.shared);
        shared.funcs.extend(self.local.funcs.drain());
        shared.methods.extend(self.local.methods.drain());
        self
    }

    /// Adds or replaces a function.
    pub fn insert(
        &mut self,
        name: &str,
        f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) {
        self.local.funcs.insert(
            name.to_owned(),
            Func::Plain {
                f: Arc::new(f),
                arity: None,
            },
        );
    }

    /// Adds a function whose argument count is checked before the call, as Go checks a Go
    /// function's signature (`wrong number of args for NAME: want N got M`).
    pub(crate) fn insert_checked(
        &mut self,
        name: &str,
        min: usize,
        max: Option<usize>,
        f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) {
        self.local.funcs.insert(
            name.to_owned(),
            Func::Plain {
                f: Arc::new(f),
                arity: Some((min, max)),
            },
        );
    }

    pub(crate) fn insert_special(&mut self, name: &str, f: Func) {
        self.local.funcs.insert(name.to_owned(), f);
    }

    /// Adds or replaces a method, called as `.Name` (or `.Name arg...`) on a map or list.
    /// Like Go, a method wins over a map key of the same name.
    pub fn insert_method(
        &mut self,
        receiver: MethodReceiver,
        name: &str,
        f: impl Fn(&Value, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) {
        self.local
            .methods
            .insert((receiver, name.to_owned()), Arc::new(f));
    }

    /// Adds every function and method of `other`, replacing same-named ones.
    pub fn extend(&mut self, other: &Self) {
        for table in [other.shared.as_ref(), &other.local] {
            for (k, v) in &table.funcs {
                self.local.funcs.insert(k.clone(), v.clone());
            }
            for (k, v) in &table.methods {
                self.local.methods.insert(k.clone(), Arc::clone(v));
            }
        }
    }

    /// Whether a function of this name exists (builtins included).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some() || builtins::is_builtin(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Func> {
        self.local
            .funcs
            .get(name)
            .or_else(|| self.shared.funcs.get(name))
    }

    pub(crate) fn method(&self, receiver: &Value, name: &str) -> Option<&Method> {
        let kind = match receiver {
            Value::Map(_) => MethodReceiver::Map,
            Value::List(_) => MethodReceiver::List,
            Value::Time(_) => MethodReceiver::Time,
            _ => return None,
        };
        if self.local.methods.is_empty() && self.shared.methods.is_empty() {
            return None;
        }
        let key = (kind, name.to_owned());
        self.local
            .methods
            .get(&key)
            .or_else(|| self.shared.methods.get(&key))
    }
}

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: no value, printed as `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type (`""` for label sets).
    Zero,
    /// `missingkey=error`: execution stops with an error.
    Error,
}

/// Bounds on one execution, so a template cannot run away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of `{{template}}` calls (Go allows 100000; deep recursion here
    /// would exhaust the thread's stack first).
    pub max_template_depth: usize,
    /// Maximum output size in bytes.
    pub max_output_bytes: usize,
    /// Maximum number of nodes evaluated, including range iterations.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_template_depth: 100,
            max_output_bytes: 1 << 20,
            max_steps: 1_000_000,
        }
    }
}

/// A parsed template set: the root template and every `{{define}}`d or `{{block}}` one.
#[derive(Clone)]
pub struct Template {
    name: String,
    trees: BTreeMap<String, Arc<parse::Tree>>,
    funcs: Funcs,
    missing_key: MissingKey,
    limits: Limits,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("templates", &self.trees.keys().collect::<Vec<_>>())
            .field("missing_key", &self.missing_key)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Parses `text` as the template `name`. Unknown functions and undefined variables are
    /// parse errors, as in Go.
    pub fn parse(name: &str, text: &str, funcs: &Funcs) -> Result<Self, TemplateError> {
        let mut template = Self {
            name: name.to_owned(),
            trees: BTreeMap::new(),
            funcs: if funcs.has_builtins {
                funcs.clone()
            } else {
                let mut all = Funcs::builtins();
                all.extend(funcs);
                all
            },
            missing_key: MissingKey::Default,
            limits: Limits::default(),
        };
        template.add(name, text)?;
        Ok(template)
    }

    /// Parses more text into this set (Alertmanager template files). Its top level becomes
    /// the template `name`; its `define`s replace same-named ones, except that an empty body
    /// never replaces a non-empty one (Go's rule).
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        let funcs = &self.funcs;
        let (root, defined) =
            parse::parse(text, &|f| funcs.contains(f)).map_err(|e| TemplateError::Parse {
                template: name.to_owned(),
                line: parse::location(text, e.pos).0,
                message: e.message,
            })?;
        let text: Arc<str> = Arc::from(text);
        let mut new_trees = vec![(name.to_owned(), root)];
        new_trees.extend(defined);
        for (tree_name, list) in new_trees {
            let tree = Arc::new(parse::Tree {
                parse_name: name.to_owned(),
                text: Arc::clone(&text),
                root: list,
            });
            match self.trees.get(&tree_name) {
                Some(old) if tree.is_empty() && !old.is_empty() => {}
                _ => {
                    self.trees.insert(tree_name, tree);
                }
            }
        }
        Ok(())
    }

    /// Sets an option as Go's `Template.Option` does: `missingkey=default|invalid|zero|error`.
    pub fn option(&mut self, option: &str) -> Result<(), TemplateError> {
        self.missing_key = match option {
            "missingkey=default" | "missingkey=invalid" => MissingKey::Default,
            "missingkey=zero" => MissingKey::Zero,
            "missingkey=error" => MissingKey::Error,
            _ => {
                return Err(TemplateError::Template {
                    template: self.name.clone(),
                    message: format!("unrecognized option: {option}"),
                });
            }
        };
        Ok(())
    }

    /// Sets what a missing map key evaluates to.
    pub fn set_missing_key(&mut self, missing_key: MissingKey) {
        self.missing_key = missing_key;
    }

    /// Sets the execution limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The root template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of every template in the set, sorted.
    pub fn template_names(&self) -> impl Iterator<Item = &str> {
        self.trees.keys().map(String::as_str)
    }

    /// Whether a template of this name is defined.
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes the root template with `data` as dot.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        self.execute_named(&self.name, data)
    }

    /// Executes the named template of the set with `data` as dot.
    pub fn execute_named(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        self.execute_with_funcs(name, data, &self.funcs)
    }

    /// Executes with other implementations of the functions it was parsed with (the same
    /// names; e.g. `query` bound to another evaluation time), so a parsed template can be
    /// reused.
    pub(crate) fn execute_with_funcs(
        &self,
        name: &str,
        data: &Value,
        funcs: &Funcs,
    ) -> Result<String, TemplateError> {
        let Some(tree) = self.trees.get(name) else {
            return Err(TemplateError::Template {
                template: self.name.clone(),
                message: format!(
                    "no template {} associated with template {}",
                    gofmt::quote(name),
                    gofmt::quote(&self.name)
                ),
            });
        };
        exec::execute(self, funcs, name, tree, data)
    }
}

// Rule evaluation shares parsed templates and expanders between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Funcs>();
    assert_send_sync::<prometheus::Expander>();
};

#[cfg(test)]
mod tests;
