//! Configuration loading: a TOML file, overlaid by `KEYWARD__SECTION__KEY` environment variables.
//!
//! Parsing takes the environment as a map so tests never touch the process environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;

/// The prefix of overriding environment variables.
pub const ENV_PREFIX: &str = "KEYWARD__";

/// Why configuration could not be loaded. Messages name the file, variable or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from an optional file and an environment map.
///
/// A variable `KEYWARD__VAULT__GRPC_PORT=50061` sets `vault.grpc_port`. Each value is read as a
/// TOML value when it parses as one (numbers, booleans, arrays) and as a string otherwise.
/// Unknown fields are rejected by `T`'s `deny_unknown_fields`.
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
) -> Result<T, ConfigError> {
    let root = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: path.display().to_string(),
                    message: e.message().to_string(),
                })?
        }
        None => toml::Table::new(),
    };
    let mut overrides = Vec::new();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Env {
                var: var.clone(),
                message: "empty path segment (use KEYWARD__SECTION__KEY)".into(),
            });
        }
        overrides.push((var.clone(), path, raw.clone()));
    }
    // Values are typed (numbers, booleans, arrays) when they parse as such. A secret that
    // happens to look like a number must stay a string: if the typed reading is refused, each
    // typed override is retried as a string before giving up.
    let mut as_string = vec![false; overrides.len()];
    let first = build(&root, &overrides, &as_string)?;
    let first_err = match first {
        Ok(cfg) => return Ok(cfg),
        Err(e) => e,
    };
    // Serde names the offending value (``invalid type: integer `12345`, expected a string``):
    // flip the overrides it names to strings and try again, one error at a time.
    let mut current = first_err.to_string();
    for _ in 0..overrides.len() {
        let mut flipped = false;
        for (i, (_, _, raw)) in overrides.iter().enumerate() {
            let typed = !matches!(parse_env_value(raw), toml::Value::String(_));
            if typed && !as_string[i] && current.contains(&format!("`{raw}`")) {
                as_string[i] = true;
                flipped = true;
            }
        }
        if !flipped {
            break;
        }
        match build::<T>(&root, &overrides, &as_string)? {
            Ok(cfg) => return Ok(cfg),
            Err(e) => current = e.to_string(),
        }
    }
    Err(first_err)
}

type Override = (String, Vec<String>, String);

fn build<T: DeserializeOwned>(
    root: &toml::Table,
    overrides: &[Override],
    as_string: &[bool],
) -> Result<Result<T, ConfigError>, ConfigError> {
    let mut table = root.clone();
    for ((var, path, raw), string) in overrides.iter().zip(as_string) {
        let value = if *string {
            toml::Value::String(raw.clone())
        } else {
            parse_env_value(raw)
        };
        set_path(&mut table, path, value).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
    }
    Ok(toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string())))
}

fn parse_env_value(raw: &str) -> toml::Value {
    // `v = <raw>` parses numbers, booleans and arrays; anything else stays a string.
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            )
            | Some(v @ toml::Value::Array(_)) => v,
            _ => toml::Value::String(raw.to_string()),
        },
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Err("empty path".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [head, rest @ ..] => {
            let entry = table
                .entry(head.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("`{head}` is not a section")),
            }
        }
    }
}

/// The process environment as a map, for `load` in binaries.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        name: String,
        #[serde(default)]
        inner: Inner,
    }

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        port: u16,
        #[serde(default)]
        on: bool,
        #[serde(default)]
        label: String,
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_file_with_types() {
        let dir = tempdir();
        let path = dir.join("c.toml");
        std::fs::write(&path, "name = \"a\"\n[inner]\nport = 1\n").unwrap();
        let cfg: Cfg = load(
            Some(&path),
            &env(&[
                ("KEYWARD__INNER__PORT", "8080"),
                ("KEYWARD__INNER__ON", "true"),
                ("KEYWARD__INNER__LABEL", "x y"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.name, "a");
        assert_eq!(
            cfg.inner,
            Inner {
                port: 8080,
                on: true,
                label: "x y".into()
            }
        );
    }

    #[test]
    fn a_numeric_looking_value_stays_a_string_where_a_string_is_wanted() {
        let cfg: Cfg = load(
            None,
            &env(&[
                ("KEYWARD__NAME", "12345"),
                ("KEYWARD__INNER__LABEL", "true"),
                ("KEYWARD__INNER__PORT", "80"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.name, "12345");
        assert_eq!(cfg.inner.label, "true");
        assert_eq!(cfg.inner.port, 80);
    }

    #[test]
    fn unknown_fields_and_bad_types_are_named() {
        let err = load::<Cfg>(
            None,
            &env(&[("KEYWARD__NAME", "a"), ("KEYWARD__NAMEX", "b")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("namex"), "{err}");
        let err = load::<Cfg>(
            None,
            &env(&[("KEYWARD__NAME", "a"), ("KEYWARD__INNER__PORT", "99999")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("invalid configuration"), "{err}");
        let err = load::<Cfg>(
            None,
            &env(&[("KEYWARD__NAME", "a"), ("KEYWARD__NAME__X", "b")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("KEYWARD__NAME__X"), "{err}");
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kw-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
