//! An OCI image layout per Solo5 target, as a deterministic tar, for urunc
//! and any OCI tool: one layer holding the image under `/unikernel/` and
//! `/urunc.json`; urunc's annotations on the manifest and as labels of
//! the image config. Every digest follows from the image's bytes.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::archive::{tar, Entry};
use crate::error::Result;
use crate::render::files::hex;
use crate::target::Target;

/// The monitor urunc starts for a target's images.
fn hypervisor(target: Target) -> Option<&'static str> {
    match target {
        Target::Hvt => Some("hvt"),
        Target::Spt => Some("spt"),
        Target::Virtio => Some("qemu"),
        _ => None,
    }
}

/// urunc's annotations for `image` (its file name) on `target`.
fn annotations(
    target: Target,
    image: &str,
    cmdline: &str,
    version: &str,
) -> Option<BTreeMap<String, String>> {
    let hypervisor = hypervisor(target)?;
    let pairs = [
        // urunc runs Solo5 images of MirageOS's kind as `mirage`.
        ("unikernelType", "mirage"),
        ("hypervisor", hypervisor),
        ("binary", &format!("/unikernel/{image}")),
        ("cmdline", cmdline),
        ("unikernelVersion", version),
    ];
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (format!("com.urunc.unikernel.{k}"), v.to_owned()))
            .collect(),
    )
}

/// A content-addressed blob and its descriptor.
fn blob(blobs: &mut Vec<Entry>, media_type: &str, bytes: Vec<u8>) -> Value {
    let digest = hex(&Sha256::digest(&bytes));
    let descriptor = json!({
        "mediaType": media_type,
        "digest": format!("sha256:{digest}"),
        "size": bytes.len(),
    });
    blobs.push(Entry {
        path: format!("blobs/sha256/{digest}"),
        contents: bytes,
        executable: false,
    });
    descriptor
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON values print")
}

/// The OCI layout tar of `image` (file name and bytes) for `target`,
/// tagged `version`; `None` for targets urunc has no monitor for.
pub fn layout(
    target: Target,
    image: (&str, &[u8]),
    cmdline: &str,
    version: &str,
) -> Result<Option<Vec<u8>>> {
    let Some(annotations) = annotations(target, image.0, cmdline, version) else {
        return Ok(None);
    };
    // urunc.json: the annotations, each value base64-encoded.
    let encoded: BTreeMap<&String, String> = annotations
        .iter()
        .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v)))
        .collect();
    let layer = tar(&mut [
        Entry {
            path: "unikernel/".into(),
            contents: Vec::new(),
            executable: true,
        },
        Entry {
            path: format!("unikernel/{}", image.0),
            contents: image.1.to_vec(),
            executable: true,
        },
        Entry {
            path: "urunc.json".into(),
            contents: json_bytes(&json!(encoded)),
            executable: false,
        },
    ])?;
    let diff_id = format!("sha256:{}", hex(&Sha256::digest(&layer)));
    let mut blobs = Vec::new();
    let layer = blob(&mut blobs, "application/vnd.oci.image.layer.v1.tar", layer);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": annotations},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    let config = blob(
        &mut blobs,
        "application/vnd.oci.image.config.v1+json",
        json_bytes(&config),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [layer],
        "annotations": annotations,
    });
    let mut manifest = blob(
        &mut blobs,
        "application/vnd.oci.image.manifest.v1+json",
        json_bytes(&manifest),
    );
    manifest["annotations"] = json!({"org.opencontainers.image.ref.name": version});
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest],
    });
    blobs.push(Entry {
        path: "index.json".into(),
        contents: json_bytes(&index),
        executable: false,
    });
    blobs.push(Entry {
        path: "oci-layout".into(),
        contents: br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        executable: false,
    });
    for dir in ["blobs/", "blobs/sha256/"] {
        blobs.push(Entry {
            path: dir.into(),
            contents: Vec::new(),
            executable: true,
        });
    }
    Ok(Some(tar(&mut blobs)?))
}
