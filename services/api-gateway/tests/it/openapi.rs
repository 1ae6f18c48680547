//! `/openapi.json` is valid OpenAPI 3.1 and describes exactly the registered routes; `/docs`
//! serves the reference page.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::Gw;

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let path = reference.strip_prefix("#/")?;
    path.split('/').try_fold(doc, |v, part| v.get(part))
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_is_valid_3_1_and_matches_the_registered_routes() {
    let gw = Gw::start().await;
    let r = gw.req("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Paths × methods in the document …
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(
                op["responses"].as_object().is_some_and(|m| !m.is_empty()),
                "{method} {path}: no responses"
            );
            // Every `{param}` of the path is declared.
            for seg in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            {
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == seg && p["in"] == "path"));
                assert!(
                    declared,
                    "{method} {path}: path parameter {seg} not declared"
                );
            }
        }
    }
    // … equal the routes the app registers.
    let registered: BTreeSet<(String, String)> = keyward_api_gateway::app::api()
        .table()
        .routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented: {missing:?}; not registered: {extra:?}"
    );

    // Every registered route really is served (not the 404 of an unknown path).
    for (method, path) in &registered {
        let concrete = path
            .replace("{id}", "00000000-0000-7000-8000-000000000000")
            .replace("{name}", "nobody");
        let r = gw.req(method, &concrete, None, None).await;
        assert!(
            !(r.status == 404 && r.text.contains("route not found")) && r.status != 405,
            "{method} {path} is not served: {} {}",
            r.status,
            r.text
        );
    }
    let r = gw.req("GET", "/api/v1/nope", None, None).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // Every $ref resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        assert!(resolve(&doc, r).is_some(), "dangling $ref {r}");
    }

    // The reference validator, where the machine has it (it ships with the dev image).
    let file = std::env::temp_dir().join(format!("kw-openapi-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, json\nfrom openapi_spec_validator import validate\nfrom openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator\nvalidate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\nprint('valid')"])
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    match out {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            eprintln!("openapi-spec-validator not installed; structural checks only");
        }
        Ok(o) => assert!(
            o.status.success(),
            "openapi-spec-validator: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => eprintln!("python3 not available; structural checks only"),
    }

    // A fresh connection: the validator can take longer than the server's keep-alive, and a
    // pooled connection the server has just closed fails with IncompleteMessage.
    let docs = reqwest::get(format!("{}/docs", gw.base)).await.unwrap();
    assert_eq!(docs.status(), 200);
    let text = docs.text().await.unwrap();
    assert!(text.contains("api-reference") && text.contains("/api/v1/virtual-keys"));
}
