//! `qapms auth login jira`, `qapms auth status`, `qapms auth logout [jira]`.
//!
//! `login` runs the OAuth flow that `integrations.jira.auth` names. For `oauth_pkce` it starts
//! the loopback redirect listener, prints the sign-in URL on stderr (stdout stays for scripts)
//! and waits for the browser to come back; for `oauth_client_credentials` it fetches a token
//! straight away, which checks the client id and secret. Either way the site's cloud id is
//! looked up, and the tokens are stored encrypted under the master key in
//! `<data_dir>/credentials/jira.oauth.json`, where the Jira client finds and renews them.
//! `status` reads only the clear part of that file, so it needs no passphrase; `logout`
//! deletes it. No token is ever printed.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use qapms_core::config::JiraAuth;
use qapms_core::integrations::jira::oauth::{DEFAULT_LOGIN_TIMEOUT, Grant, JiraOAuthSettings};
use qapms_core::secrets::{TokenFile, token_file_path};

use super::secrets_cmd::master_key;
use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthIntegration {
    Jira,
}

impl AuthIntegration {
    fn name(self) -> &'static str {
        match self {
            Self::Jira => "jira",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Sign in with OAuth 2.0 (browser sign-in or client credentials) and store the tokens.
    Login {
        /// The integration to sign in to.
        integration: AuthIntegration,
        /// How long to wait for the browser to come back, in seconds.
        #[arg(long, default_value_t = DEFAULT_LOGIN_TIMEOUT.as_secs(), value_name = "SECS")]
        timeout: u64,
    },
    /// Show which integrations have stored OAuth tokens, and until when they work.
    Status,
    /// Delete stored OAuth tokens.
    Logout {
        /// The integration to sign out of (default: all).
        integration: Option<AuthIntegration>,
    },
}

pub(crate) fn run(ctx: &Context, cmd: &AuthCommand, out: &mut Output) -> Result<i32, CliError> {
    match *cmd {
        AuthCommand::Login {
            integration,
            timeout,
        } => login(ctx, integration, Duration::from_secs(timeout.max(1)), out),
        AuthCommand::Status => status(ctx, out),
        AuthCommand::Logout { integration } => logout(ctx, integration, out),
    }
}

/// Every integration `qapms auth` knows.
const ALL: [AuthIntegration; 1] = [AuthIntegration::Jira];

fn login(
    ctx: &Context,
    integration: AuthIntegration,
    timeout: Duration,
    out: &mut Output,
) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let jira = loaded.config.integrations.jira.as_ref().ok_or_else(|| {
        CliError::new("Jira is not configured: add integrations.jira to qapms.yaml")
    })?;
    if matches!(jira.auth, JiraAuth::Basic { .. } | JiraAuth::Pat { .. }) {
        return Err(CliError::new(format!(
            "integrations.jira.auth.method is `{}`, which needs no sign-in; `qapms auth login` \
             is for `oauth_pkce` and `oauth_client_credentials`",
            jira.auth.method()
        )));
    }
    let unlocked = ctx.unlock(&loaded)?;
    let settings = JiraOAuthSettings::from_config(jira, &unlocked)?
        .ok_or_else(|| CliError::new("integrations.jira.auth is not an OAuth method"))?;
    // The tokens are stored encrypted: without a master key there is nowhere safe for them.
    let (key, _) = master_key(ctx)?;
    let file = TokenFile::new(
        token_file_path(&loaded.paths.data_dir, integration.name()),
        std::sync::Arc::new(key),
    );
    let rt = runtime()?;
    let info = rt.block_on(async {
        let mut show = |url: &url::Url| {
            // On stderr, so `qapms auth login jira > /dev/null` still shows it; the URL holds
            // only the PKCE challenge and the state, no secret.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "Open this URL in a browser to sign in to Jira (waiting {} s):\n\n  {url}\n\n",
                    timeout.as_secs()
                )
                .as_bytes(),
            );
        };
        settings
            .login(&file, Some(&ctx.redactor), timeout, &mut show)
            .await
    })?;
    let how = match settings.grant {
        Grant::AuthorizationCode => "signed in",
        Grant::ClientCredentials => "client credentials accepted",
    };
    out.note(&format!(
        "jira: {how}; tokens stored encrypted in {}",
        file.path().display()
    ));
    if let Some(cloud_id) = &info.cloud_id {
        out.note(&format!("jira: cloud id {cloud_id} for {}", info.site));
    }
    if settings.grant == Grant::AuthorizationCode && !info.has_refresh_token {
        out.note(
            "jira: no refresh token was granted (add the `offline_access` scope); you will need to sign in again when the access token expires",
        );
    }
    Ok(0)
}

fn status(ctx: &Context, out: &mut Output) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let mut found = false;
    for integration in ALL {
        let path = token_file_path(&loaded.paths.data_dir, integration.name());
        let configured = loaded
            .config
            .integrations
            .jira
            .as_ref()
            .map(|j| j.auth.method());
        match TokenFile::info(&path)? {
            None => {
                let method = configured.unwrap_or("not configured");
                out.line(&format!(
                    "{}: not signed in (auth method: {method})",
                    integration.name()
                ));
            }
            Some(info) => {
                found = true;
                let expiry = match info.expires_at {
                    Some(at) if at > Utc::now() => format!("access token valid until {at}"),
                    Some(at) => format!("access token expired at {at}"),
                    None => "access token without an expiry".to_owned(),
                };
                let refresh = if info.has_refresh_token {
                    "refresh token stored"
                } else {
                    "no refresh token"
                };
                let mut line = format!(
                    "{}: signed in to {} as client {}; {expiry}; {refresh}",
                    integration.name(),
                    info.site,
                    info.client_id
                );
                if let Some(cloud_id) = &info.cloud_id {
                    let _ = write!(line, "; cloud id {cloud_id}");
                }
                if let Some(scope) = &info.scope {
                    let _ = write!(line, "; scopes: {scope}");
                }
                out.line(&line);
            }
        }
    }
    if !found {
        out.note("sign in with `qapms auth login jira`");
    }
    Ok(0)
}

fn logout(
    ctx: &Context,
    integration: Option<AuthIntegration>,
    out: &mut Output,
) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let which = integration.map_or_else(|| ALL.to_vec(), |i| vec![i]);
    for integration in which {
        let path = token_file_path(&loaded.paths.data_dir, integration.name());
        if TokenFile::remove(&path)? {
            out.note(&format!(
                "{}: signed out; stored tokens deleted",
                integration.name()
            ));
        } else {
            out.note(&format!("{}: no stored tokens", integration.name()));
        }
    }
    Ok(0)
}
