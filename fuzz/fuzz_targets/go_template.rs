//! Go text/template parse + execute: no panic, bounded time and output, whatever the text.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tocsin_template::prometheus::Expander;
use tocsin_template::{Limits, Template, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expander = Expander::new(BTreeMap::new(), "http://localhost:9090/".to_owned(), None);
    let Ok(mut template) = Template::parse("fuzz", text, &expander.funcs(0)) else {
        return;
    };
    template.set_limits(Limits {
        max_template_depth: 20,
        max_output_bytes: 64 * 1024,
        max_steps: 100_000,
    });
    let labels: BTreeMap<String, String> = [
        ("job".to_owned(), "api".to_owned()),
        ("instance".to_owned(), "a:1".to_owned()),
    ]
    .into();
    let mut data = BTreeMap::new();
    data.insert("Labels".to_owned(), Value::from(&labels));
    data.insert("Value".to_owned(), Value::Float(1.5));
    data.insert(
        "List".to_owned(),
        Value::List(vec![Value::Int(1), Value::from("x")]),
    );
    if let Ok(out) = template.execute(&Value::Map(data)) {
        assert!(out.len() <= 64 * 1024);
    }
    for name in template
        .template_names()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    {
        let _ = template.execute_named(&name, &Value::Nil);
    }
});
