//! examples/oci uses only arguments the oracle/oci provider has: tests/oci-example/check.py
//! reads every `oci_*` resource and data source block of the example and looks each argument
//! and nested block up in tests/oci-example/oci-schema.txt, the list tests/oci-example/schema.py
//! extracts from the provider's Go schemas (the provider's version is on its first line).

use std::process::Command;

#[test]
fn the_oci_example_uses_only_arguments_of_the_oci_provider() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let o = Command::new("python3")
        .arg(format!("{root}/tests/oci-example/check.py"))
        .arg(format!("{root}/examples/oci"))
        .output()
        .expect("python3");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Every block was read: a parse slip would skip the rest of a file silently.
    let mut want = 0;
    for entry in std::fs::read_dir(format!("{root}/examples/oci")).expect("examples/oci") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "tf") {
            let text = std::fs::read_to_string(&path).expect("read");
            want += text
                .lines()
                .filter(|l| l.starts_with("resource \"oci_") || l.starts_with("data \"oci_"))
                .count();
        }
    }
    assert!(want >= 20, "examples/oci has only {want} oci blocks");
    assert!(
        out.contains(&format!(" {want} oci blocks, 0 problem(s)")),
        "expected all {want} oci blocks read: {out}"
    );
}
