//! Go text/template semantics, case by case (expected outputs are Go's).

use std::collections::BTreeMap;

use super::*;

fn data() -> Value {
    let mut m = BTreeMap::new();
    m.insert("a".to_owned(), Value::Int(1));
    m.insert("zero".to_owned(), Value::Int(0));
    m.insert("f".to_owned(), Value::Float(1.5));
    m.insert("s".to_owned(), Value::from("hello"));
    m.insert("empty".to_owned(), Value::from(""));
    m.insert(
        "list".to_owned(),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    let labels: BTreeMap<String, String> = [("x", "1"), ("y", "2")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    m.insert("m".to_owned(), Value::from(&labels));
    let mut inner = BTreeMap::new();
    inner.insert("v".to_owned(), Value::from("deep"));
    let mut nested = BTreeMap::new();
    nested.insert("inner".to_owned(), Value::Map(inner));
    m.insert("nested".to_owned(), Value::Map(nested));
    m.insert("t".to_owned(), Value::Bool(true));
    m.insert("nil".to_owned(), Value::Nil);
    m.insert(
        "strs".to_owned(),
        Value::List(vec![Value::from("b"), Value::from("a")]),
    );
    Value::Map(m)
}

fn run(text: &str) -> Result<String, String> {
    let t = Template::parse("t", text, &Funcs::builtins()).map_err(|e| e.to_string())?;
    t.execute(&data()).map_err(|e| e.to_string())
}

#[test]
fn go_semantics_table() {
    let cases: &[(&str, &str)] = &[
        ("plain text", "plain text"),
        ("{{.s}}", "hello"),
        ("{{.a}} {{.f}} {{.t}}", "1 1.5 true"),
        ("{{.nested.inner.v}}", "deep"),
        ("{{.missing}}", "<no value>"),
        ("{{.missing.deeper}}", "<no value>"),
        ("{{.nil}}", "<no value>"),
        ("{{print .nil}}", "<nil>"),
        ("{{.list}}", "[1 2 3]"),
        ("{{.m}}", "map[x:1 y:2]"),
        ("{{$x := .s}}{{$x}}", "hello"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        (
            "{{$}}",
            "map[a:1 empty: f:1.5 list:[1 2 3] m:map[x:1 y:2] nested:map[inner:map[v:deep]] nil:<nil> s:hello strs:[b a] t:true zero:0]",
        ),
        ("{{.s | printf \"%s!\"}}", "hello!"),
        ("{{printf \"%d-%s\" .a .s}}", "1-hello"),
        ("{{(printf \"%s\" .s) | len}}", "5"),
        ("{{if .t}}yes{{end}}", "yes"),
        ("{{if .zero}}yes{{else}}no{{end}}", "no"),
        ("{{if .empty}}a{{else if .a}}b{{else}}c{{end}}", "b"),
        ("{{if .missing}}a{{else if .zero}}b{{else}}c{{end}}", "c"),
        ("{{with .s}}{{.}}{{end}}", "hello"),
        ("{{with .empty}}x{{else}}none{{end}}", "none"),
        ("{{with .empty}}x{{else with .s}}{{.}}{{end}}", "hello"),
        ("{{range .list}}{{.}},{{end}}", "1,2,3,"),
        (
            "{{range $i, $e := .list}}{{$i}}={{$e}} {{end}}",
            "0=1 1=2 2=3 ",
        ),
        ("{{range $e := .list}}{{$e}}{{end}}", "123"),
        ("{{range $k, $v := .m}}{{$k}}:{{$v}};{{end}}", "x:1;y:2;"),
        ("{{range .m}}{{.}}{{end}}", "12"),
        ("{{range .missing}}x{{else}}empty{{end}}", "empty"),
        (
            "{{range .list}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}",
            "1",
        ),
        (
            "{{range .list}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}",
            "13",
        ),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range $i, $e := .list}}{{end}}{{$i := 5}}{{$i}}", "5"),
        (
            "{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" .s}}",
            "[hello]",
        ),
        (
            "{{define \"T\"}}[{{.}}]{{end}}{{template \"T\"}}",
            "[<no value>]",
        ),
        ("{{block \"B\" .a}}<{{.}}>{{end}}", "<1>"),
        ("a {{- \" b \" -}} c", "a b c"),
        ("a  \n {{- /* comment */ -}} \n b", "ab"),
        ("x{{/* c */}}y", "xy"),
        ("{{\"\\t\\\"q\\\"\"}}", "\t\"q\""),
        ("{{`raw\\n`}}", "raw\\n"),
        (
            "{{1.0}} {{1e3}} {{0x10}} {{-5}} {{'a'}} {{1_000}}",
            "1 1000 16 -5 97 1000",
        ),
        (
            "{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 \"\"}}",
            "0 2 3 ",
        ),
        ("{{not .t}} {{not .empty}}", "false true"),
        ("{{len .s}} {{len .list}} {{len .m}}", "5 3 2"),
        (
            "{{index .list 1}} {{index .m \"y\"}} {{index .m \"nope\"}}|",
            "2 2 |",
        ),
        ("{{slice .s 1 3}} {{slice .list 1}}", "el [2 3]"),
        ("{{print 1 2 \"a\" 3 \"b\" \"c\"}}", "1 2a3bc"),
        ("{{println 1 \"a\"}}", "1 a\n"),
        (
            "{{html \"<a href='x'>&\\\"\"}}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        ("{{js \"it's <b>\"}}", "it\\'s \\u003Cb\\u003E"),
        ("{{urlquery \"a b&c=d/é\"}}", "a+b%26c%3Dd%2F%C3%A9"),
        (
            "{{eq 1 1}} {{eq 1 2 3 1}} {{eq \"a\" \"b\"}} {{ne 1 2}}",
            "true true false true",
        ),
        (
            "{{lt 1 2}} {{le 2 2}} {{gt 1.5 1.0}} {{ge \"a\" \"b\"}}",
            "true true true false",
        ),
        ("{{eq .nil .nil}} {{eq .s .nil}}", "true false"),
        (
            "{{printf \"%5.1f|%-4d|%q|%x|%v\" 3.14159 7 \"a\" 255 .list}}",
            "  3.1|7   |\"a\"|ff|[1 2 3]",
        ),
        (
            "{{printf \"%.2f %g %e\" 2.0 100000000.0 1.0}}",
            "2.00 1e+08 1.000000e+00",
        ),
        (
            "{{1234567.0}} {{0.00001}} {{100000.0}}",
            "1.234567e+06 1e-05 100000",
        ),
        (
            "{{$x := .}}{{with .nested}}{{$x.s}}{{$.s}}{{.inner.v}}{{end}}",
            "hellohellodeep",
        ),
        ("{{(index .list 0)}}", "1"),
        ("{{(.nested).inner.v}}", "deep"),
        ("{{if $x := .a}}{{$x}}{{end}}", "1"),
        ("{{range .strs}}{{$y := .}}{{$y}}{{end}}", "ba"),
    ];
    for (text, want) in cases {
        assert_eq!(run(text).as_deref(), Ok(*want), "template {text:?}");
    }
}

#[test]
fn errors_read_like_go() {
    let cases: &[(&str, &str)] = &[
        (
            "{{nofunc 1}}",
            "template: t:1: function \"nofunc\" not defined",
        ),
        ("{{$x}}", "template: t:1: undefined variable \"$x\""),
        ("{{if .a}}", "template: t:1: unexpected EOF"),
        ("line1\n{{end}}", "template: t:2: unexpected {{end}}"),
        ("{{.a", "template: t:1: unclosed action"),
        ("{{break}}", "template: t:1: {{break}} outside {{range}}"),
        ("{{}}", "template: t:1: missing value for command"),
        ("{{/* x }}", "template: t:1: unclosed comment"),
        (
            "{{lt 1 1.5}}",
            "template: t:1:2: executing \"t\" at <lt 1 1.5>: error calling lt: incompatible types for comparison",
        ),
        (
            "x\n  {{.s.foo}}",
            "template: t:2:6: executing \"t\" at <.s.foo>: can't evaluate field foo in type string",
        ),
        (
            "{{template \"nope\"}}",
            "template: t:1:11: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined",
        ),
        (
            "{{index .list 5}}",
            "template: t:1:2: executing \"t\" at <index .list 5>: error calling index: index out of range: 5",
        ),
        (
            "{{len 3}}",
            "template: t:1:2: executing \"t\" at <len 3>: error calling len: len of type int",
        ),
        (
            "{{not 1 2}}",
            "template: t:1:2: executing \"t\" at <not>: wrong number of args for not: want 1 got 2",
        ),
        (
            "{{.s 1}}",
            "template: t:1:2: executing \"t\" at <.s>: s is not a method but has arguments",
        ),
        (
            "{{1 2}}",
            "template: t:1:2: executing \"t\" at <1>: can't give argument to non-function 1",
        ),
        (
            "{{1 | 2}}",
            "template: t:1: non executable command in pipeline stage 2",
        ),
        (
            "{{nil}}",
            "template: t:1:2: executing \"t\" at <nil>: nil is not a command",
        ),
        (
            "{{range .s}}{{end}}",
            "template: t:1:8: executing \"t\" at <.s>: range can't iterate over hello",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            run(text).as_ref().map_err(String::as_str),
            Err(*want),
            "template {text:?}"
        );
    }
}

#[test]
fn missing_key_options() {
    let mut t = Template::parse("t", "{{.m.nope}}|{{.nope}}", &Funcs::builtins()).unwrap();
    assert_eq!(t.execute(&data()).unwrap(), "<no value>|<no value>");
    t.option("missingkey=zero").unwrap();
    assert_eq!(t.execute(&data()).unwrap(), "|<no value>");
    t.option("missingkey=error").unwrap();
    assert_eq!(
        t.execute(&data()).unwrap_err().to_string(),
        "template: t:1:4: executing \"t\" at <.m.nope>: map has no entry for key \"nope\""
    );
    assert!(t.option("bogus").is_err());
}

#[test]
fn template_sets_add_and_execute_named() {
    let mut t = Template::parse("root", "{{template \"a\" .}}", &Funcs::builtins()).unwrap();
    t.add(
        "file1",
        "{{define \"a\"}}A{{template \"b\" .}}{{end}}{{define \"b\"}}B{{end}}",
    )
    .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "AB");
    // A later file's define replaces; an empty one does not.
    t.add("file2", "{{define \"b\"}}B2{{end}}").unwrap();
    t.add("file3", "{{define \"b\"}} {{end}}").unwrap();
    assert_eq!(t.execute_named("a", &Value::Nil).unwrap(), "AB2");
    assert_eq!(
        t.execute_named("zzz", &Value::Nil).unwrap_err().to_string(),
        "template: root: no template \"zzz\" associated with template \"root\""
    );
    let err = Template::parse(
        "dup",
        "{{define \"x\"}}1{{end}}{{define \"x\"}}2{{end}}",
        &Funcs::builtins(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: dup:1: template: multiple definition of template \"x\""
    );
}

#[test]
fn custom_functions_and_error_wrapping() {
    let mut funcs = Funcs::builtins();
    funcs.insert("double", |a| match a {
        [Value::Int(i)] => Ok(Value::Int(i * 2)),
        _ => Err("want one int".to_owned()),
    });
    let t = Template::parse("t", "{{double 21}} {{.a | double}}", &funcs).unwrap();
    assert_eq!(t.execute(&data()).unwrap(), "42 2");
    let t = Template::parse("t", "{{double \"x\"}}", &funcs).unwrap();
    assert_eq!(
        t.execute(&data()).unwrap_err().to_string(),
        "template: t:1:2: executing \"t\" at <double \"x\">: error calling double: want one int"
    );
}

#[test]
fn limits_stop_runaway_templates() {
    let mut t = Template::parse(
        "t",
        "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
        &Funcs::builtins(),
    )
    .unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("exceeded maximum nesting depth (100)"),
        "{err}"
    );
    t.set_limits(Limits {
        max_template_depth: 10,
        ..Limits::default()
    });
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("exceeded maximum template depth (10)"),
        "{err}"
    );

    let mut t =
        Template::parse("t", "{{range 100000}}xxxxxxxxxx{{end}}", &Funcs::builtins()).unwrap();
    t.set_limits(Limits {
        max_output_bytes: 1000,
        ..Limits::default()
    });
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("output exceeds 1000 bytes"), "{err}");

    let mut t = Template::parse("t", "{{range 100000}}{{end}}", &Funcs::builtins()).unwrap();
    t.set_limits(Limits {
        max_steps: 5000,
        ..Limits::default()
    });
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(err.contains("exceeded 5000 steps"), "{err}");

    let t = Template::parse(
        "t",
        "{{ $x := \"0123456789\" }}{{ range 60 }}{{ $x = print $x $x }}{{ end }}{{ len $x }}",
        &Funcs::builtins(),
    )
    .unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("result of print exceeds 1048576 bytes"),
        "{err}"
    );
    let mut funcs = Funcs::builtins();
    funcs.insert("pair", |a| Ok(Value::List(a.to_vec())));
    let t = Template::parse(
        "t",
        "{{ $x := 1 }}{{ range 60 }}{{ $x = pair $x $x }}{{ end }}",
        &funcs,
    )
    .unwrap();
    let err = t.execute(&Value::Nil).unwrap_err().to_string();
    assert!(
        err.contains("result of pair exceeds 1048576 bytes"),
        "{err}"
    );

    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let err = Template::parse("t", &format!("{{{{{deep}}}}}"), &Funcs::builtins()).unwrap_err();
    assert!(err.to_string().contains("nesting deeper than"), "{err}");
}
