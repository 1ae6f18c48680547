//! `keyward login|logout|keys|vkeys|users|teams`: the REST API from a terminal.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Client, Credentials, Session, store_tokens};
use super::output::{line, note, object, table};

/// Default API address (`keyward up` on this machine).
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Commands that talk to a running gateway over its REST API.
#[derive(Subcommand, Clone)]
pub enum ClientCommand {
    /// Sign in and store the tokens in $XDG_CONFIG_HOME/keyward/credentials.json (mode 0600).
    ///
    /// The password is read from KEYWARD_PASSWORD, else prompted for (or read from stdin when
    /// it is not a terminal).
    Login(LoginArgs),
    /// Sign out: end the session on the server and delete the stored credentials.
    Logout,
    /// Provider API keys (OpenAI, Anthropic, …), kept encrypted by the vault.
    ///
    /// Secrets are never taken as arguments (they would show in `ps` and shell history): they
    /// are read from KEYWARD_PROVIDER_SECRET, else prompted for, else read from stdin. Bedrock
    /// and Azure take a JSON object, e.g. {"api_key":"…","endpoint":"…","api_version":"…"}.
    Keys {
        #[command(subcommand)]
        action: KeyAction,
        #[command(flatten)]
        out: Out,
    },
    /// Virtual keys (`kw_…`) that apps use to call the LLM proxy.
    Vkeys {
        #[command(subcommand)]
        action: VkeyAction,
        #[command(flatten)]
        out: Out,
    },
    /// Members of your organization.
    Users {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        out: Out,
    },
    /// Teams of your organization.
    Teams {
        #[command(subcommand)]
        action: TeamAction,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Args, Clone)]
pub struct LoginArgs {
    /// Your e-mail address.
    #[arg(long, short)]
    email: String,
    /// The gateway's address.
    #[arg(long, env = "KEYWARD_URL", default_value = DEFAULT_URL)]
    url: String,
    /// The organization to sign in to (needed when you belong to several).
    #[arg(long)]
    org: Option<String>,
    /// A TOTP code, when you have enabled TOTP.
    #[arg(long)]
    totp: Option<String>,
}

#[derive(Args, Clone)]
pub struct Out {
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// The gateway's address (default: the one you signed in to).
    #[arg(long, env = "KEYWARD_URL", global = true)]
    url: Option<String>,
}

#[derive(Subcommand, Clone)]
pub enum VkeyAction {
    /// Create a key; it is printed once and cannot be shown again.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// Scope it to a team (id).
        #[arg(long)]
        team: Option<String>,
        /// Scope it to a project (id).
        #[arg(long)]
        project: Option<String>,
        /// Scope it to a member (user id).
        #[arg(long)]
        user: Option<String>,
        /// Allowed model (repeat for several; default: all).
        #[arg(long = "model")]
        models: Vec<String>,
        /// Requests per minute.
        #[arg(long)]
        rpm: Option<u32>,
        /// Tokens per minute.
        #[arg(long)]
        tpm: Option<u32>,
        /// Expiry, RFC 3339 (e.g. 2030-01-01T00:00:00Z).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List keys you may see.
    List,
    /// Revoke a key at once.
    Revoke {
        /// The key's id.
        id: String,
    },
}

#[derive(Subcommand, Clone)]
pub enum KeyAction {
    /// Store a provider key (the secret is read as described above).
    Add {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// openai, anthropic, gemini, bedrock, azure, cohere, mistral, perplexity or
        /// openai-compatible.
        #[arg(long)]
        provider: String,
        /// Scope it to a team (id); default: the whole organization.
        #[arg(long)]
        team: Option<String>,
        /// Scope it to a project (id).
        #[arg(long)]
        project: Option<String>,
        /// Scope it to a member (user id).
        #[arg(long)]
        user: Option<String>,
        /// A different API address (proxies, self-hosted OpenAI-compatible servers).
        #[arg(long)]
        base_url: Option<String>,
        /// Store it without checking it against the provider first.
        #[arg(long)]
        no_validate: bool,
        /// Routing: keys of higher priority are used first (-1000 to 1000; default 0).
        #[arg(long, allow_hyphen_values = true)]
        priority: Option<i32>,
        /// Routing: share of traffic among keys of equal scope and priority (1 to 1000;
        /// default 100).
        #[arg(long)]
        weight: Option<u32>,
    },
    /// List keys you may see (metadata only; secrets are never shown).
    List {
        /// Only this provider's keys.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Check a stored key against its provider now.
    Validate { id: String },
    /// Replace a key's secret (read as described above).
    Rotate {
        id: String,
        /// How long the old secret keeps working, in seconds.
        #[arg(long, default_value_t = 0)]
        grace_seconds: u32,
        /// Store it without checking it against the provider first.
        #[arg(long)]
        no_validate: bool,
    },
    /// Revoke a key at once: it is never used again.
    Revoke { id: String },
    /// Change a key's name, routing or rotation period (not its secret: see `rotate`).
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Keys of higher priority are used first (-1000 to 1000).
        #[arg(long, allow_hyphen_values = true)]
        priority: Option<i32>,
        /// Share of traffic among keys of equal scope and priority (1 to 1000).
        #[arg(long)]
        weight: Option<u32>,
        /// Days after which the key is reported due for rotation (1 to 3650).
        #[arg(long)]
        rotation_period_days: Option<u32>,
    },
    /// Who used or changed a key, newest first (the audit trail).
    AccessLog { id: String },
}

#[derive(Subcommand, Clone)]
pub enum UserAction {
    /// List members.
    List,
    /// Invite someone; prints the invitation token to send them.
    Invite {
        email: String,
        /// owner, admin, developer, viewer, auditor, billing or a custom role.
        #[arg(long)]
        role: String,
        /// Grant the role in this team only.
        #[arg(long)]
        team: Option<String>,
    },
    /// Remove a member from the organization.
    Remove {
        /// The member's user id.
        id: String,
    },
}

#[derive(Subcommand, Clone)]
pub enum TeamAction {
    /// List teams.
    List,
    /// Create a team.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a team (it must have no projects or keys).
    Delete { id: String },
}

/// Runs a client command; errors are printed, not returned.
pub async fn run(cmd: &ClientCommand) -> ExitCode {
    match dispatch(cmd.clone()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            note(&format!(
                "keyward: {}",
                keyward_crypto::redact(&format!("{e:#}"))
            ));
            ExitCode::FAILURE
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("KEYWARD_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Password: ").context("cannot read the password");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn dispatch(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Login(a) => login(a).await,
        ClientCommand::Logout => {
            if let Ok(mut s) = Session::load(None) {
                // Best effort: the local file goes either way.
                if let Err(e) = s.call(Method::POST, "/api/v1/auth/logout", None).await {
                    note(&format!("note: the server did not confirm sign-out: {e:#}"));
                }
            }
            Credentials::remove()?;
            note("signed out");
            Ok(())
        }
        ClientCommand::Keys { action, out } => keys(action, out).await,
        ClientCommand::Vkeys { action, out } => vkeys(action, out).await,
        ClientCommand::Users { action, out } => users(action, out).await,
        ClientCommand::Teams { action, out } => teams(action, out).await,
    }
}

async fn login(a: LoginArgs) -> anyhow::Result<()> {
    let password = read_password()?;
    let client = Client::new(&a.url)?;
    let mut body = json!({"email": a.email, "password": password});
    if let Some(o) = &a.org {
        body["org_id"] = json!(o);
    }
    if let Some(t) = &a.totp {
        body["totp_code"] = json!(t);
    }
    let t = client
        .send(Method::POST, "/api/v1/auth/login", None, Some(&body))
        .await?;
    let mut creds = Credentials {
        url: client.base.clone(),
        email: a.email.clone(),
        access_token: String::new(),
        refresh_token: String::new(),
        expires_at: 0,
    };
    store_tokens(&mut creds, &t)?;
    let path = creds.save()?;
    note(&format!(
        "signed in as {} at {} (credentials in {})",
        a.email,
        client.base,
        path.display()
    ));
    Ok(())
}

/// A provider secret from KEYWARD_PROVIDER_SECRET, a prompt, or stdin; a JSON object stays one.
fn read_secret() -> anyhow::Result<Value> {
    let raw = match std::env::var("KEYWARD_PROVIDER_SECRET") {
        Ok(v) => v,
        Err(_) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Provider secret: ").context("cannot read the secret")?
        }
        Err(_) => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                .context("cannot read the secret from stdin")?;
            text
        }
    };
    let raw = raw.trim();
    anyhow::ensure!(!raw.is_empty(), "no secret given (stdin was empty)");
    if raw.starts_with('{') {
        let v: Value = serde_json::from_str(raw)
            .map_err(|_| anyhow::anyhow!("the secret looks like JSON but does not parse"))?;
        return Ok(v);
    }
    Ok(json!(raw))
}

/// Scope object of `--team/--project/--user`, if any was given.
fn scope_of(team: Option<String>, project: Option<String>, user: Option<String>) -> Option<Value> {
    let scope: serde_json::Map<String, Value> = [
        ("team_id", team),
        ("project_id", project),
        ("user_id", user),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v))))
    .collect();
    (!scope.is_empty()).then_some(Value::Object(scope))
}

const KEY_COLUMNS: [&str; 10] = [
    "id",
    "name",
    "provider",
    "masked",
    "status",
    "health",
    "priority",
    "weight",
    "version",
    "last_used_at",
];

/// Prints a stored/rotated key and its validation, if any.
fn key_result(r: &Value, json_out: bool) {
    if json_out {
        object(r, true);
        return;
    }
    object(&r["key"], false);
    if let Some(v) = r.get("validation").filter(|v| !v.is_null()) {
        line(&format!(
            "validation  {} {}",
            v["outcome"].as_str().unwrap_or("-"),
            v["message"].as_str().unwrap_or("")
        ));
    }
}

async fn keys(action: KeyAction, out: Out) -> anyhow::Result<()> {
    let mut s = Session::load(out.url.as_deref())?;
    match action {
        KeyAction::Add {
            name,
            provider,
            team,
            project,
            user,
            base_url,
            no_validate,
            priority,
            weight,
        } => {
            let secret = read_secret()?;
            let mut body = json!({"name": name, "provider": provider, "secret": secret,
                "validate": !no_validate, "priority": priority, "weight": weight});
            if let Some(scope) = scope_of(team, project, user) {
                body["scope"] = scope;
            }
            if let Some(u) = base_url {
                body["base_url"] = json!(u);
            }
            let r = s
                .call(Method::POST, "/api/v1/provider-keys", Some(&body))
                .await?;
            key_result(&r, out.json);
        }
        KeyAction::List { provider } => {
            let mut items = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let mut url = "/api/v1/provider-keys?limit=200".to_string();
                if let Some(p) = &provider {
                    url.push_str(&format!("&provider={}", query_value(p)?));
                }
                if let Some(a) = &after {
                    url.push_str(&format!("&after={}", query_value(a)?));
                }
                let page = s.call(Method::GET, &url, None).await?;
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next_cursor"].as_str() {
                    Some(c) => after = Some(c.to_string()),
                    None => break,
                }
            }
            table(&items, &KEY_COLUMNS, out.json);
        }
        KeyAction::Validate { id } => {
            let v = s
                .call(
                    Method::POST,
                    &item("provider-keys", &id, "/validate")?,
                    None,
                )
                .await?;
            object(&v, out.json);
        }
        KeyAction::Rotate {
            id,
            grace_seconds,
            no_validate,
        } => {
            let secret = read_secret()?;
            let body = json!({"secret": secret, "grace_seconds": grace_seconds,
                "validate": !no_validate});
            let r = s
                .call(
                    Method::POST,
                    &item("provider-keys", &id, "/rotate")?,
                    Some(&body),
                )
                .await?;
            key_result(&r, out.json);
        }
        KeyAction::Revoke { id } => {
            let k = s
                .call(Method::POST, &item("provider-keys", &id, "/revoke")?, None)
                .await?;
            object(&k, out.json);
        }
        KeyAction::Update {
            id,
            name,
            priority,
            weight,
            rotation_period_days,
        } => {
            let body = json!({"name": name, "priority": priority, "weight": weight,
                "rotation_period_days": rotation_period_days});
            let k = s
                .call(Method::PATCH, &item("provider-keys", &id, "")?, Some(&body))
                .await?;
            object(&k, out.json);
        }
        KeyAction::AccessLog { id } => {
            let page = s
                .call(
                    Method::GET,
                    &item("provider-keys", &id, "/access-log")?,
                    None,
                )
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            table(
                &items,
                &[
                    "occurred_at",
                    "action",
                    "outcome",
                    "actor.kind",
                    "actor.id",
                    "service",
                    "reason",
                ],
                out.json,
            );
        }
    }
    Ok(())
}

/// A query-string value made of safe characters only.
fn query_value(v: &str) -> anyhow::Result<&str> {
    anyhow::ensure!(
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')),
        "`{v}` contains characters that are not allowed here"
    );
    Ok(v)
}

async fn vkeys(action: VkeyAction, out: Out) -> anyhow::Result<()> {
    let mut s = Session::load(out.url.as_deref())?;
    match action {
        VkeyAction::Create {
            name,
            team,
            project,
            user,
            models,
            rpm,
            tpm,
            expires_at,
        } => {
            let mut body = json!({"name": name});
            if let Some(scope) = scope_of(team, project, user) {
                body["scope"] = scope;
            }
            if !models.is_empty() {
                body["models"] = json!(models);
            }
            for (k, v) in [("rpm", rpm), ("tpm", tpm)] {
                if let Some(v) = v {
                    body[k] = json!(v);
                }
            }
            if let Some(e) = expires_at {
                body["expires_at"] = json!(e);
            }
            let created = s
                .call(Method::POST, "/api/v1/virtual-keys", Some(&body))
                .await?;
            object(&created, out.json);
            if !out.json {
                note("store the key now: it is shown only this once");
            }
        }
        VkeyAction::List => {
            let page = s.call(Method::GET, "/api/v1/virtual-keys", None).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            table(
                &items,
                &[
                    "id",
                    "name",
                    "scope_kind",
                    "key_hint",
                    "status",
                    "rpm",
                    "tpm",
                    "expires_at",
                ],
                out.json,
            );
        }
        VkeyAction::Revoke { id } => {
            let k = s
                .call(Method::POST, &item("virtual-keys", &id, "/revoke")?, None)
                .await?;
            object(&k, out.json);
        }
    }
    Ok(())
}

async fn users(action: UserAction, out: Out) -> anyhow::Result<()> {
    let mut s = Session::load(out.url.as_deref())?;
    match action {
        UserAction::List => {
            let page = s.call(Method::GET, "/api/v1/users", None).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            table(
                &items,
                &["id", "email", "name", "disabled", "joined_at"],
                out.json,
            );
        }
        UserAction::Invite { email, role, team } => {
            let mut body = json!({"email": email, "role": role});
            if let Some(t) = team {
                body["team_id"] = json!(t);
            }
            let inv = s
                .call(Method::POST, "/api/v1/invitations", Some(&body))
                .await?;
            if out.json {
                object(&inv, true);
            } else {
                object(&inv["invitation"], false);
                line(&format!(
                    "token      {}",
                    inv["token"].as_str().unwrap_or_default()
                ));
                note(
                    "send the token to the invitee; they accept it with POST /api/v1/invitations/accept",
                );
            }
        }
        UserAction::Remove { id } => {
            s.call(Method::DELETE, &item("users", &id, "")?, None)
                .await?;
            note("removed");
        }
    }
    Ok(())
}

async fn teams(action: TeamAction, out: Out) -> anyhow::Result<()> {
    let mut s = Session::load(out.url.as_deref())?;
    match action {
        TeamAction::List => {
            let page = s.call(Method::GET, "/api/v1/teams", None).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            table(
                &items,
                &["id", "name", "description", "created_at"],
                out.json,
            );
        }
        TeamAction::Create { name, description } => {
            let t = s
                .call(
                    Method::POST,
                    "/api/v1/teams",
                    Some(&json!({"name": name, "description": description})),
                )
                .await?;
            object(&t, out.json);
        }
        TeamAction::Delete { id } => {
            s.call(Method::DELETE, &item("teams", &id, "")?, None)
                .await?;
            note("deleted");
        }
    }
    Ok(())
}

/// `/api/v1/{collection}/{id}{suffix}`, with `id` checked to be a UUID.
fn item(collection: &str, id: &str, suffix: &str) -> anyhow::Result<String> {
    Ok(format!("/api/v1/{collection}/{}{suffix}", path_id(id)?))
}

/// An id for a URL path: a UUID, so nothing else can end up in the path.
fn path_id(id: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .with_context(|| format!("`{id}` is not an id (expected a UUID)"))
}
