//! Regenerates the gRPC code from `proto/` and fails when it differs from the committed code.
//! `KEYWARD_UPDATE_PROTO=1` writes the fresh code instead (see `make proto`).

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generate(out: &Path) {
    let root = repo_root();
    let protos: Vec<PathBuf> = keyward_proto::PROTO_FILES
        .iter()
        .map(|f| root.join("proto").join(f))
        .collect();
    let includes = vec![
        root.join("proto"),
        protoc_bin_vendored::include_path().expect("vendored protobuf includes"),
    ];
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"));
    config.skip_debug(keyward_proto::SECRET_MESSAGES);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .out_dir(out)
        .compile_with_config(config, &protos, &includes)
        .expect("protoc and code generation succeed");
}

#[test]
fn generated_code_matches_the_protos() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let fresh = std::fs::read_to_string(tmp.path().join("keyward.v1.rs")).unwrap();
    let committed_path = repo_root().join("crates/proto/src/gen/keyward.v1.rs");
    if std::env::var_os("KEYWARD_UPDATE_PROTO").is_some() {
        std::fs::write(&committed_path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "crates/proto/src/gen/keyward.v1.rs is out of date with proto/: run `make proto` and commit"
    );
}
