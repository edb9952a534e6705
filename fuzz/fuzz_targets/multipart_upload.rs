//! The runbook upload's body (`POST /v1/tenants/{t}/runbooks`): read
//! through axum's `Multipart` extractor (multer underneath) the way
//! `api::runbooks::upload` reads it (`manifest` as text, `component` as
//! bytes, any other part refused), then the manifest parsed.
//!
//! Inputs: a body after a fixed boundary (raw), or parts encoded by the
//! target (first byte 0). Properties: the parts read back are the parts
//! sent (name, file name, content type, bytes); a body that reads, encoded
//! again, reads the same.
#![no_main]

use arbitrary::{Result, Unstructured};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use wolfe::manifest::Manifest;

const BOUNDARY: &str = "wolfe-fuzz-boundary";

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// One part as read: name, file name, content type, bytes.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    name: Option<String>,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0) {
        let _ = structured(&mut Unstructured::new(&data[1..]));
        return;
    }
    RUNTIME.block_on(upload(data.to_vec()));
    if let Ok(parts) = RUNTIME.block_on(read_parts(data.to_vec())) {
        // What was read, sent again in canonical form, reads the same.
        if let Some(body) = encode(&parts) {
            let again = RUNTIME
                .block_on(read_parts(body))
                .expect("an encoded body reads");
            assert_eq!(again, parts);
        }
    }
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(0..=3)?;
    let mut parts = Vec::new();
    for _ in 0..n {
        let name = if u.ratio(7u8, 8)? {
            Some(
                u.choose(&["manifest", "component", "other", "", "a.b"])?
                    .to_string(),
            )
        } else {
            None
        };
        let file_name = if u.arbitrary()? {
            Some(
                u.choose(&["runbook.toml", "runbook.wasm", "a b", ""])?
                    .to_string(),
            )
        } else {
            None
        };
        let content_type = if u.arbitrary()? {
            Some(
                u.choose(&[
                    "application/toml",
                    "application/wasm",
                    "text/plain; charset=utf-8",
                    "application/octet-stream",
                ])?
                .to_string(),
            )
        } else {
            None
        };
        let data = if u.arbitrary()? {
            manifest_text(u)?.into_bytes()
        } else {
            u.arbitrary::<&[u8]>()?.to_vec()
        };
        parts.push(Part {
            name,
            file_name,
            content_type,
            data,
        });
    }
    let Some(body) = encode(&parts) else {
        return Ok(());
    };
    RUNTIME.block_on(upload(body.clone()));
    let read = RUNTIME
        .block_on(read_parts(body))
        .expect("an encoded body reads");
    assert_eq!(read, parts);
    Ok(())
}

fn manifest_text(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(format!(
        "name = {:?}\nversion = \"0.1.0\"\nlanguage = \"rust\"\n[capabilities]\nhttp = [{{ url = {:?} }}]\n",
        wolfe_fuzz::word(u)?,
        wolfe_fuzz::url_pattern(u)?
    ))
}

fn request(body: Vec<u8>) -> Request {
    Request::builder()
        .method("POST")
        .uri("/v1/tenants/t/runbooks")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .expect("a request")
}

/// The upload handler's reading of the body, then the manifest's parse.
async fn upload(body: Vec<u8>) {
    let Ok(mut multipart) = Multipart::from_request(request(body), &()).await else {
        return;
    };
    let (mut manifest_text, mut component): (Option<String>, Option<Bytes>) = (None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let _ = (e.status(), e.body_text());
                return;
            }
        };
        match field.name() {
            Some("manifest") => match field.text().await {
                Ok(text) => manifest_text = Some(text),
                Err(_) => return,
            },
            Some("component") => match field.bytes().await {
                Ok(bytes) => component = Some(bytes),
                Err(_) => return,
            },
            Some(_) | None => return,
        }
    }
    if let (Some(text), Some(_component)) = (manifest_text, component) {
        let _ = Manifest::parse(&text);
    }
}

/// Every part of a body, in order.
async fn read_parts(body: Vec<u8>) -> std::result::Result<Vec<Part>, String> {
    let mut multipart = Multipart::from_request(request(body), &())
        .await
        .map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().map(str::to_string);
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let data = field.bytes().await.map_err(|e| e.body_text())?.to_vec();
        parts.push(Part {
            name,
            file_name,
            content_type,
            data,
        });
    }
    Ok(parts)
}

/// A multipart body holding `parts`, or `None` when a part cannot be
/// written plainly (a quote, `=` or line break in a name, the boundary in
/// data).
fn encode(parts: &[Part]) -> Option<Vec<u8>> {
    let plain = |s: &Option<String>, unsafe_chars: &[char]| {
        s.as_ref()
            .is_none_or(|s| s.is_ascii() && !s.contains(unsafe_chars))
    };
    // multer finds `filename="` anywhere in the header line, even inside
    // the name's quotes: a name or file name holding `=` is not written.
    let quoted = ['"', '\r', '\n', '\\', ';', '='];
    let mut body = Vec::new();
    for part in parts {
        if !plain(&part.name, &quoted)
            || !plain(&part.file_name, &quoted)
            || !plain(&part.content_type, &['\r', '\n'])
        {
            return None;
        }
        if part
            .data
            .windows(BOUNDARY.len())
            .any(|w| w == BOUNDARY.as_bytes())
        {
            return None;
        }
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data").as_bytes(),
        );
        if let Some(name) = &part.name {
            body.extend_from_slice(format!("; name=\"{name}\"").as_bytes());
        }
        if let Some(file_name) = &part.file_name {
            body.extend_from_slice(format!("; filename=\"{file_name}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Some(body)
}
