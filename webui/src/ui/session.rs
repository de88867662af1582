//! Signing in to the HTML UI. An operator signs in with an API key (a named key with the
//! `read` or `admin` scope, or `WEBUI_API_KEY`); the UI then keeps a session in Redis
//! under the SHA-256 of a random cookie value, for [`SESSION_TTL`]. The cookie is
//! `HttpOnly`, `SameSite=Strict`, and `Secure` when the request came over TLS (directly
//! or as the proxy's `X-Forwarded-Proto` says).
//!
//! Every form carries the session's CSRF token and every change checks it
//! ([`Viewer::submitting`]); the sign-in form, which has no session yet, checks a token it
//! set in a short-lived cookie of its own (double submit).

use super::UiError;
use crate::auth::correlation_id;
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::Caller;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::{Deserialize, Serialize};
use shared::store::api_keys::{KeyHolder, Scope, generate_key, key_hash};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "mutt_session";
pub const LOGIN_COOKIE: &str = "mutt_login_csrf";
/// How long a sign-in lasts.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(8 * 3600);

/// What Redis keeps of a signed-in operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub holder: KeyHolder,
    pub csrf: String,
    /// The SHA-256 of the key signed in with: the session lasts only while that key works,
    /// so revoking a key (or the end of a rotation's grace) ends its sessions. Empty in
    /// sessions of earlier versions, which must sign in again.
    #[serde(default)]
    pub key_sha256: String,
}

/// The signed-in operator of this request; extracting it fails with a redirect to the
/// sign-in page when there is no live session.
pub struct Viewer {
    pub session: Session,
}

impl Viewer {
    pub fn name(&self) -> &str {
        &self.session.holder.name
    }

    pub fn can_write(&self) -> bool {
        self.session.holder.may(Scope::Admin)
    }

    /// The viewer as the caller of a read (a page, no form to check).
    pub fn reading(&self, req: &HttpRequest) -> Caller {
        Caller::new(self.session.holder.clone(), correlation_id(req))
    }

    /// The viewer as the caller of a form post, once the form's CSRF token matches the
    /// session's. Whether their key may make the change is the service's to say.
    pub fn submitting(
        &self,
        req: &HttpRequest,
        form: &HashMap<String, String>,
    ) -> Result<Caller, UiError> {
        let sent = form.get("csrf").map(String::as_bytes).unwrap_or_default();
        if !bool::from(sent.ct_eq(self.session.csrf.as_bytes())) {
            return Err(UiError::Csrf);
        }
        Ok(Caller::new(
            self.session.holder.clone(),
            correlation_id(req),
        ))
    }
}

impl FromRequest for Viewer {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, UiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| UiError::Api(ApiError::Internal("no app state".into())))?;
            let token = req.cookie(SESSION_COOKIE).ok_or(UiError::SignIn)?;
            let session = load(state, token.value()).await?.ok_or(UiError::SignIn)?;
            if !crate::auth::key_works(state, &session.key_sha256).await? {
                return Err(UiError::SignIn);
            }
            Ok(Viewer { session })
        })
    }
}

async fn load(state: &AppState, token: &str) -> Result<Option<Session>, ApiError> {
    let stored: Option<String> = redis::cmd("GET")
        .arg(state.keys.webui_session(&key_hash(token)))
        .query_async(&mut state.redis.clone())
        .await?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Starts a session for `holder`, who signed in with `key`; returns the cookie that names
/// it.
pub async fn start(
    state: &AppState,
    holder: KeyHolder,
    key: &str,
    req: &HttpRequest,
) -> Result<Cookie<'static>, ApiError> {
    let token = generate_key();
    let session = Session {
        holder,
        csrf: generate_key(),
        key_sha256: key_hash(key),
    };
    let _: () = redis::cmd("SET")
        .arg(state.keys.webui_session(&key_hash(&token)))
        .arg(serde_json::to_string(&session).expect("a session serialises"))
        .arg("EX")
        .arg(SESSION_TTL.as_secs())
        .query_async(&mut state.redis.clone())
        .await?;
    Ok(cookie(
        SESSION_COOKIE,
        token,
        SESSION_TTL.as_secs() as i64,
        req,
    ))
}

/// Ends the request's session, if any; returns the cookie that clears it.
pub async fn end(state: &AppState, req: &HttpRequest) -> Result<Cookie<'static>, ApiError> {
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        let _: i64 = redis::cmd("DEL")
            .arg(state.keys.webui_session(&key_hash(token.value())))
            .query_async(&mut state.redis.clone())
            .await?;
    }
    Ok(cookie(SESSION_COOKIE, String::new(), 0, req))
}

/// A cookie for this site only: `HttpOnly`, `SameSite=Strict`, `Secure` over TLS.
pub fn cookie(
    name: &'static str,
    value: String,
    max_age_secs: i64,
    req: &HttpRequest,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

/// The sign-in form's token, and the cookie that carries its twin.
pub fn login_token(req: &HttpRequest) -> (String, Cookie<'static>) {
    let token = generate_key();
    let cookie = cookie(LOGIN_COOKIE, token.clone(), 600, req);
    (token, cookie)
}

/// Whether the sign-in form's token matches its cookie.
pub fn login_token_ok(req: &HttpRequest, form: &HashMap<String, String>) -> bool {
    match (req.cookie(LOGIN_COOKIE), form.get("csrf")) {
        (Some(cookie), Some(sent)) if !sent.is_empty() => {
            bool::from(cookie.value().as_bytes().ct_eq(sent.as_bytes()))
        }
        _ => false,
    }
}
