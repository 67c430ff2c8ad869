//! Deeply nested templates fail with an error instead of overflowing the stack: the worst
//! shapes (nested control structures, parentheses, recursion through `template` and `tmpl`)
//! run on a 1 MiB thread, half of a tokio worker's stack.

use std::collections::BTreeMap;

use tocsin_template::prometheus::Expander;
use tocsin_template::{Funcs, Template, Value};

fn run_on_small_stack(text: String, funcs: Funcs, data: Value) -> String {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let t = Template::parse("t", &text, &funcs).unwrap();
            t.execute(&data).unwrap_err().to_string()
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn nested_ifs_inside_recursive_templates() {
    let opens = "{{if true}}".repeat(94);
    let closes = "{{end}}".repeat(94);
    let text = format!(
        "{{{{define \"r\"}}}}{opens}{{{{template \"r\" (len (print (print .)))}}}}{closes}{{{{end}}}}{{{{template \"r\" 1}}}}"
    );
    let err = run_on_small_stack(text, Funcs::builtins(), Value::Nil);
    assert!(
        err.ends_with("exceeded maximum nesting depth (100)"),
        "{err}"
    );
}

#[test]
fn nested_parentheses_recursing_through_tmpl() {
    let e = Expander::new(BTreeMap::new(), String::new(), None);
    let opens = "(print ".repeat(95);
    let closes = ")".repeat(95);
    let text = format!(
        "{{{{define \"r\"}}}}{{{{ {opens} (tmpl \"r\" .) {closes} }}}}{{{{end}}}}{{{{template \"r\" 1}}}}"
    );
    let err = run_on_small_stack(text, e.funcs(0), Value::Nil);
    assert!(
        err.ends_with("exceeded maximum nesting depth (100)"),
        "{err}"
    );
}

#[test]
fn nested_ranges_and_withs_inside_recursive_templates() {
    let opens = "{{range $i, $e := $}}{{with $e}}".repeat(45);
    let closes = "{{end}}{{end}}".repeat(45);
    let text = format!(
        "{{{{define \"r\"}}}}{opens}{{{{template \"r\" $}}}}{closes}{{{{end}}}}{{{{template \"r\" .}}}}"
    );
    let err = run_on_small_stack(text, Funcs::builtins(), Value::List(vec![Value::Int(1)]));
    assert!(
        err.ends_with("exceeded maximum nesting depth (100)"),
        "{err}"
    );
}
