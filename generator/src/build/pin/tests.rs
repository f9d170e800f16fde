use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Index;
use crate::build::record::Record;

fn compile(crate_name: &str, extra: &str, out_dir: &str) -> Record {
    let args = format!("--crate-name {crate_name} -C extra-filename={extra} --out-dir {out_dir}");
    Record {
        cwd: "/ws".to_owned(),
        args: args.split(' ').map(str::to_owned).collect(),
        env: BTreeMap::new(),
        script: None,
    }
}

fn records() -> Vec<Record> {
    let mut run = compile("x", "", "");
    run.args.clear();
    run.script = Some("/t/release/build/ring-aa/build_script_build-aa.real".to_owned());
    run.env.insert(
        "OUT_DIR".to_owned(),
        "/t/release/build/ring-bb/out".to_owned(),
    );
    vec![
        compile("log", "-0123", "/t/release/deps"),
        compile("build_script_build", "-aa", "/t/release/build/ring-aa"),
        run,
    ]
}

#[test]
fn paths_into_the_target_directory_become_unit_references() {
    let records = records();
    let prefixes = vec![
        ("/ws".to_owned(), "{workspace}".to_owned()),
        ("/reg".to_owned(), "{crates}".to_owned()),
    ];
    let index = Index::new(&records, Path::new("/t"), prefixes);
    let mut refs = BTreeSet::new();
    let cases = [
        (
            "log=/t/release/deps/liblog-0123.rmeta",
            "log={unit:0}/liblog{extra:0}.rmeta",
        ),
        ("dependency=/t/release/deps", "dependency={deps}"),
        ("native=/t/release/build/ring-bb/out", "native={unit:2}/out"),
        (
            "/t/release/build/ring-aa/build_script_build-aa.real",
            "{unit:1}/build_script_build{extra:1}",
        ),
        (
            "--remap-path-prefix=/ws=.\x1f--remap-path-prefix=/reg/log-0.4=crates",
            "--remap-path-prefix={workspace}=.\x1f--remap-path-prefix={crates}/log-0.4=crates",
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(index.normalize(given, &mut refs), expected);
    }
    assert_eq!(refs, BTreeSet::from([0, 1, 2]));
    // A path of the target directory no unit wrote stays as it is.
    let mut none = BTreeSet::new();
    assert_eq!(
        index.normalize("/t/release/other", &mut none),
        "/t/release/other"
    );
    assert!(none.is_empty());
}

#[test]
fn references_become_ids_in_one_pass() {
    let ids = BTreeMap::from([(1, "aa".to_owned()), (12, "bb".to_owned())]);
    let s = "-L {unit:12} -C extra-filename={extra:1} {unit:3} {workspace} {x:1} {";
    assert_eq!(
        super::with_ids(s, &ids),
        "-L {unit:bb} -C extra-filename=-aa {unit:3} {workspace} {x:1} {"
    );
}
