//! Who is calling: the interceptor that authenticates the calling service
//! and records the end user it acts for.
//!
//! Callers are services. Each presents a bearer token from the configured
//! set (compared in constant time); the end user travels in the `x-user-id`
//! metadata header and the user's plan in `x-user-plan`. The interceptor puts
//! a [`Caller`] into the request's extensions, where service methods find it
//! with [`caller`]. With no tokens configured every caller is accepted (for
//! local development); `app` says so loudly at start-up.
//!
//! A token names what it may call ([`Scope`]): `rpc` for the product
//! services (SkillRegistry, Workshop, Signals), `admin` for
//! `atelier.admin.v1.Outbox`. Each service's interceptor requires its scope,
//! so a product service's token cannot retry dead events, and an operator's
//! admin-only token cannot act for users.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::ApiError;

/// Metadata header naming the end user a call acts for.
pub const USER_HEADER: &str = "x-user-id";
/// Metadata header naming the end user's plan (e.g. `free`, `pro`).
pub const PLAN_HEADER: &str = "x-user-plan";

/// An external user id: 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// Parses a user id as it arrives in metadata or a request field.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty");
        }
        if raw.chars().count() > 200 {
            return Err("must be at most 200 characters");
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The calling service: the name of its token, or `anonymous` when the
    /// server runs without tokens.
    pub service: String,
    /// The end user the call acts for, from `x-user-id`.
    pub user: Option<UserId>,
    /// The end user's plan, from `x-user-plan`, lowercased.
    pub plan: Option<String>,
}

/// What a token may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The product services: SkillRegistry, Workshop, Signals.
    Rpc,
    /// The operators' service, `atelier.admin.v1.Outbox`.
    Admin,
}

impl Scope {
    const ALL: [Self; 2] = [Self::Rpc, Self::Admin];

    /// The scope's name in a token entry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rpc => "rpc",
            Self::Admin => "admin",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == word)
    }
}

/// The scopes of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scopes {
    rpc: bool,
    admin: bool,
}

impl Scopes {
    /// A token entry without scopes may call the product services only.
    const DEFAULT: Self = Self {
        rpc: true,
        admin: false,
    };

    /// `rpc`, `admin` or `rpc+admin`; `None` unless every word is a scope.
    fn parse(text: &str) -> Option<Self> {
        let mut scopes = Self {
            rpc: false,
            admin: false,
        };
        for word in text.split('+') {
            match Scope::parse(word.trim())? {
                Scope::Rpc => scopes.rpc = true,
                Scope::Admin => scopes.admin = true,
            }
        }
        Some(scopes)
    }

    fn allow(self, scope: Scope) -> bool {
        match scope {
            Scope::Rpc => self.rpc,
            Scope::Admin => self.admin,
        }
    }

    fn names(self) -> String {
        let names: Vec<&str> = Scope::ALL
            .into_iter()
            .filter(|scope| self.allow(*scope))
            .map(Scope::as_str)
            .collect();
        names.join("+")
    }
}

impl Caller {
    /// The end user, or UNAUTHENTICATED naming the header to send.
    pub fn user(&self) -> Result<&UserId, ApiError> {
        self.user.as_ref().ok_or_else(|| {
            ApiError::unauthenticated(
                "USER_REQUIRED",
                format!("this call acts for a user: send the `{USER_HEADER}` metadata header"),
            )
        })
    }
}

/// The caller that [`Authenticator`] stored in a request.
pub fn caller<T>(request: &Request<T>) -> Result<&Caller, ApiError> {
    request.extensions().get::<Caller>().ok_or_else(|| {
        // Every service is wrapped by the interceptor, so this is a wiring bug.
        ApiError::internal("request reached a service without passing the authenticator")
    })
}

/// One accepted token: its name for logs and the SHA-256 of its value.
/// Comparing fixed-size digests keeps the comparison constant-time without
/// leaking the token's length.
#[derive(Clone)]
struct Token {
    name: String,
    digest: [u8; 32],
    scopes: Scopes,
}

/// The interceptor that authenticates callers of one service: a token of
/// the configured set, carrying the service's scope. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<Vec<Token>>,
    required: Scope,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and scopes only: token values never reach a log.
        let names: Vec<String> = self
            .tokens
            .iter()
            .map(|t| format!("{}:{}", t.name, t.scopes.names()))
            .collect();
        f.debug_struct("Authenticator")
            .field("tokens", &names)
            .field("required", &self.required)
            .finish()
    }
}

impl Authenticator {
    /// Builds the authenticator of the product services (scope `rpc`) from
    /// `name:token[:scopes]` (or bare `token`) entries, where scopes are
    /// `rpc` (the default), `admin` or `rpc+admin`. An empty list means
    /// open mode. A last `:`-part that is not a scope list belongs to the
    /// token, so a token containing `:` still works.
    pub fn new(entries: &[String]) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for (index, entry) in entries.iter().map(|e| e.trim()).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (name, rest) = match entry.split_once(':') {
                Some((name, rest)) => (name.trim().to_owned(), rest),
                None => (format!("token-{}", index + 1), entry),
            };
            let scoped = rest
                .rsplit_once(':')
                .and_then(|(value, scopes)| Some((value.trim(), Scopes::parse(scopes)?)));
            let (value, scopes) = scoped.unwrap_or((rest.trim(), Scopes::DEFAULT));
            if name.is_empty() || value.is_empty() {
                return Err(format!(
                    "auth token entry {} must be `name:token[:scopes]` or `token`, with neither part empty",
                    index + 1
                ));
            }
            tokens.push(Token {
                name,
                digest: Sha256::digest(value.as_bytes()).into(),
                scopes,
            });
        }
        Ok(Self {
            tokens: Arc::new(tokens),
            required: Scope::Rpc,
        })
    }

    /// The same tokens, for a service that needs `scope`.
    #[must_use]
    pub fn requiring(&self, scope: Scope) -> Self {
        Self {
            tokens: self.tokens.clone(),
            required: scope,
        }
    }

    /// Each token's name and scopes, for the start-up log (no values).
    pub fn describe(&self) -> Vec<String> {
        self.tokens
            .iter()
            .map(|t| format!("{} ({})", t.name, t.scopes.names()))
            .collect()
    }

    /// Whether every caller is accepted (no tokens configured).
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    fn authenticate_service(&self, metadata: &MetadataMap) -> Result<String, ApiError> {
        if self.is_open() {
            return Ok("anonymous".to_owned());
        }
        let presented = metadata
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "TOKEN_REQUIRED",
                    "send `authorization: Bearer <token>` metadata",
                )
            })?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Check every token, without stopping early, so timing says nothing
        // about which one (if any) matched.
        let mut matched = None;
        for token in self.tokens.iter() {
            if bool::from(token.digest.ct_eq(&digest)) {
                matched = Some(token);
            }
        }
        let token = matched.ok_or_else(|| {
            ApiError::unauthenticated("TOKEN_INVALID", "the bearer token is not valid")
        })?;
        if !token.scopes.allow(self.required) {
            let needed = self.required.as_str();
            return Err(ApiError::permission_denied(
                "SCOPE_MISSING",
                format!(
                    "token `{}` may not call this service: it needs the `{needed}` scope and has `{}`",
                    token.name,
                    token.scopes.names()
                ),
            ));
        }
        Ok(token.name.clone())
    }

    fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, ApiError> {
        let service = self.authenticate_service(metadata)?;
        // Two `x-user-id`s name no one in particular: acting for the first
        // would let a proxy that appends one be overruled by the client.
        if metadata.get_all(USER_HEADER).iter().nth(1).is_some() {
            return Err(ApiError::unauthenticated(
                "USER_INVALID",
                format!("`{USER_HEADER}` must be sent once"),
            ));
        }
        let user = match metadata.get(USER_HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().map_err(|_| {
                    ApiError::unauthenticated(
                        "USER_INVALID",
                        format!("`{USER_HEADER}` must be ASCII text"),
                    )
                })?;
                let user = UserId::parse(text).map_err(|problem| {
                    ApiError::unauthenticated("USER_INVALID", format!("`{USER_HEADER}` {problem}"))
                })?;
                Some(user)
            }
        };
        let plan = metadata
            .get(PLAN_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|plan| plan.trim().to_ascii_lowercase())
            .filter(|plan| !plan.is_empty());
        Ok(Caller {
            service,
            user,
            plan,
        })
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = self.authenticate(request.metadata())?;
        // The RPC's span (rpc_log) carries who called into every line the
        // call logs, its own line included.
        let span = tracing::Span::current();
        span.record("token", caller.service.as_str());
        if let Some(user) = &caller.user {
            span.record("user_id", user.as_str());
        }
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for (key, value) in pairs {
            map.insert(*key, value.parse().expect("ASCII metadata"));
        }
        map
    }

    #[test]
    fn a_configured_token_authenticates_by_name() {
        let auth = Authenticator::new(&["web:s3cret".to_owned()]).expect("valid");
        let caller = auth
            .authenticate(&metadata(&[
                ("authorization", "Bearer s3cret"),
                (USER_HEADER, "u1"),
            ]))
            .expect("authenticated");
        assert_eq!(caller.service, "web");
        assert_eq!(caller.user.as_ref().map(UserId::as_str), Some("u1"));
    }

    #[test]
    fn a_token_calls_only_the_services_of_its_scopes() {
        let entries = [
            "svc:s-secret".to_owned(),
            "ops:o-secret:admin".to_owned(),
            "both:b-secret:rpc+admin".to_owned(),
            // The last part is no scope list: it belongs to the token.
            "colon:c:secret".to_owned(),
        ];
        let rpc = Authenticator::new(&entries).expect("valid");
        let admin = rpc.requiring(Scope::Admin);
        let call = |auth: &Authenticator, token: &str| {
            auth.authenticate(&metadata(&[("authorization", &format!("Bearer {token}"))]))
                .map(|caller| caller.service)
                .map_err(|error| error.reason)
        };
        assert_eq!(call(&rpc, "s-secret"), Ok("svc".to_owned()));
        assert_eq!(call(&admin, "s-secret"), Err("SCOPE_MISSING"));
        assert_eq!(call(&rpc, "o-secret"), Err("SCOPE_MISSING"));
        assert_eq!(call(&admin, "o-secret"), Ok("ops".to_owned()));
        assert_eq!(call(&rpc, "b-secret"), Ok("both".to_owned()));
        assert_eq!(call(&admin, "b-secret"), Ok("both".to_owned()));
        assert_eq!(call(&rpc, "c:secret"), Ok("colon".to_owned()));
        assert_eq!(
            rpc.describe(),
            [
                "svc (rpc)",
                "ops (admin)",
                "both (rpc+admin)",
                "colon (rpc)"
            ]
        );
        assert!(!format!("{admin:?}").contains("secret"), "{admin:?}");
    }

    #[test]
    fn a_wrong_or_missing_token_is_unauthenticated() {
        let auth = Authenticator::new(&["s3cret".to_owned()]).expect("valid");
        let wrong = auth.authenticate(&metadata(&[("authorization", "Bearer nope")]));
        assert_eq!(wrong.expect_err("rejected").reason, "TOKEN_INVALID");
        let missing = auth.authenticate(&metadata(&[]));
        assert_eq!(missing.expect_err("rejected").reason, "TOKEN_REQUIRED");
    }

    #[test]
    fn open_mode_accepts_anyone_and_a_missing_user_is_reported_by_header_name() {
        let auth = Authenticator::new(&[]).expect("valid");
        let caller = auth.authenticate(&metadata(&[])).expect("open");
        let error = caller.user().expect_err("no user");
        assert!(error.message.contains(USER_HEADER));
    }

    #[test]
    fn a_user_header_sent_twice_is_refused() {
        let auth = Authenticator::new(&[]).expect("valid");
        let mut map = metadata(&[(USER_HEADER, "ada")]);
        map.append(USER_HEADER, "mallory".parse().expect("ASCII"));
        let error = auth.authenticate(&map).expect_err("two users");
        assert_eq!(error.reason, "USER_INVALID");
        assert!(error.message.contains("once"), "{}", error.message);
    }

    #[test]
    fn the_debug_form_never_shows_token_values() {
        let auth = Authenticator::new(&["web:s3cret".to_owned()]).expect("valid");
        assert!(!format!("{auth:?}").contains("s3cret"));
    }
}
