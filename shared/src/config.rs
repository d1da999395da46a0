//! Settings, read once at cold start from the environment into typed values.
//!
//! Every problem is collected and reported together, one line each, so a
//! misconfigured deployment is fixed in one round rather than one variable at
//! a time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use url::Url;

mod error;
pub mod stamp_claim;

pub use error::{ConfigError, Problem};

/// The validated configuration shared by every function.
#[derive(Clone, Debug)]
pub struct Config {
    /// This function's Region: where it writes (its own replica of the table).
    pub region: String,
    /// Every Region that writes to the table (`SIGNOUT_REGIONS`), `region`
    /// first: readers fold all of their items.
    pub regions: Vec<String>,
    pub user_pool_id: String,
    pub table: String,
    /// App clients whose tokens we accept (`client_id` of access tokens, `aud` of ID tokens).
    pub app_client_ids: BTreeSet<String>,
    /// Hosted UI domain, e.g. `https://auth.example.com`.
    pub cognito_domain: Option<Url>,
    pub jwks_url: Url,
    /// The pool's key set given in configuration (`JWKS_JSON`): no fetch at
    /// all, for pools whose keys do not rotate (Cognito does not rotate them).
    pub jwks_json: Option<String>,
    pub issuer: String,
    /// Per-client allow-list of logout targets (exact match).
    pub logout_urls: BTreeMap<String, Vec<String>>,
    pub fail_open: bool,
    pub revocation_cache: Duration,
    pub max_token_lifetime: Duration,
    /// How long a revoked session's refresh token can still mint tokens when
    /// Cognito was not (or could not be) told to revoke it.
    pub refresh_token_lifetime: Duration,
    pub leeway: Duration,
    /// Bounds of the verified-token cache (`TOKEN_CACHE_ENTRIES`,
    /// `TOKEN_CACHE_BYTES`); 0 in either disables it.
    pub token_cache_entries: usize,
    pub token_cache_bytes: u64,
    /// Name of the claim the Pre Token Generation trigger stamps; never one
    /// a user, a client or Cognito can write ([`stamp_claim`]).
    pub stamp_claim: String,
    /// Upper bound for one AWS SDK operation, retries included.
    pub sdk_operation_timeout: Duration,
    /// `EVENTS_ISSUER` and `EVENTS_SIGNING_KEYS`: who signs sign-out events
    /// (the events function) and what the sign-out API publishes as its JWKS.
    pub events_signing: Option<crate::events::Signing>,
}

pub const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS: u64 = 86_400;
pub const DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS: u64 = 30 * 86_400;
pub const DEFAULT_REVOCATION_CACHE_MS: u64 = 1_000;
pub const DEFAULT_LEEWAY_SECONDS: u64 = 5;
pub const DEFAULT_TOKEN_CACHE_ENTRIES: u64 = 10_000;
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 4 * 1024 * 1024;
pub const DEFAULT_SDK_OPERATION_TIMEOUT_MS: u64 = 3_000;
pub const DEFAULT_STAMP_CLAIM: &str = "signout_epoch";

struct Reader<'a, F: Fn(&str) -> Option<String>> {
    get: &'a F,
    problems: Vec<Problem>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn raw(&self, var: &str) -> Option<String> {
        (self.get)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn problem(
        &mut self,
        variable: &'static str,
        message: impl Into<String>,
        example: &'static str,
    ) {
        self.problems.push(Problem {
            variable: variable.into(),
            message: message.into(),
            example: example.into(),
        });
    }

    fn required(&mut self, var: &'static str, example: &'static str) -> Option<String> {
        let v = self.raw(var);
        if v.is_none() {
            self.problem(var, "is required but not set", example);
        }
        v
    }

    fn number(&mut self, var: &'static str, default: u64, max: u64, example: &'static str) -> u64 {
        match self.raw(var) {
            None => default,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n <= max => n,
                Ok(_) => {
                    self.problem(var, format!("must be at most {max}"), example);
                    default
                }
                Err(_) => {
                    self.problem(var, "must be a whole non-negative number", example);
                    default
                }
            },
        }
    }

    fn boolean(&mut self, var: &'static str, example: &'static str) -> bool {
        match self.raw(var).map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" || v == "1" || v == "yes" => true,
            Some(v) if v == "false" || v == "0" || v == "no" => false,
            Some(_) => {
                self.problem(var, "must be true or false", example);
                false
            }
        }
    }

    fn url(&mut self, var: &'static str, example: &'static str) -> Option<Url> {
        let v = self.raw(var)?;
        match Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                self.problem(var, "must be an absolute http(s) URL", example);
                None
            }
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests need not touch the process environment.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(get: F) -> Result<Self, ConfigError> {
        let mut r = Reader {
            get: &get,
            problems: Vec::new(),
        };

        let region = r.required("AWS_REGION", "eu-west-1");
        let regions = parse_regions(&mut r, region.as_deref());
        let pool = r.required("USER_POOL_ID", "eu-west-1_AbCdEf123");
        // A multi-Region pool keeps its primary's id (and issuer) in every
        // Region, so the pool's Region need only be one of the table's.
        let pool_region = pool
            .as_deref()
            .and_then(|p| p.split_once('_'))
            .map(|(r, _)| r.to_owned());
        if let Some(p) = &pool {
            if !valid_pool_id(p) {
                r.problem(
                    "USER_POOL_ID",
                    "must look like <region>_<id> (letters and digits)",
                    "eu-west-1_AbCdEf123",
                );
            } else if let Some(reg) = &region
                && !regions.iter().any(|x| Some(x) == pool_region.as_ref())
            {
                r.problem(
                    "USER_POOL_ID",
                    format!("is not in AWS_REGION {reg} nor in SIGNOUT_REGIONS"),
                    "eu-west-1_AbCdEf123",
                );
            }
        }
        let table = r.required("SIGNOUT_TABLE", "signout-revocations");
        if let Some(t) = &table
            && !(3..=255).contains(&t.len())
        {
            r.problem(
                "SIGNOUT_TABLE",
                "must be 3 to 255 characters",
                "signout-revocations",
            );
        }

        let mut app_client_ids = BTreeSet::new();
        if let Some(list) = r.required("APP_CLIENT_IDS", "1example23456789,2example34567890") {
            for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    r.problem(
                        "APP_CLIENT_IDS",
                        "every entry must be an app client id (letters and digits)",
                        "1example23456789,2example34567890",
                    );
                    break;
                }
                app_client_ids.insert(id.to_owned());
            }
        }

        let cognito_domain = r.url("COGNITO_DOMAIN", "https://auth.example.com");
        let derived_issuer = match (&pool_region, &pool) {
            (Some(reg), Some(p)) => Some(format!("https://cognito-idp.{reg}.amazonaws.com/{p}")),
            _ => None,
        };
        let jwks_url = r
            .url(
                "JWKS_URL",
                "http://127.0.0.1:5000/eu-west-1_AbCdEf123/.well-known/jwks.json",
            )
            .or_else(|| {
                derived_issuer
                    .as_ref()
                    .and_then(|i| Url::parse(&format!("{i}/.well-known/jwks.json")).ok())
            });
        let issuer = r.raw("TOKEN_ISSUER").or(derived_issuer);
        let jwks_json = r.raw("JWKS_JSON");
        if let Some(doc) = &jwks_json
            && crate::tokens::KeySet::from_json(doc.as_bytes()).map_or(true, |k| k.is_empty())
        {
            r.problem(
                "JWKS_JSON",
                "is not a JWKS document with an RS256 signing key (the pool's /.well-known/jwks.json)",
                r#"{"keys":[{"kty":"RSA","kid":"...","n":"...","e":"AQAB","alg":"RS256","use":"sig"}]}"#,
            );
        }

        let mut logout_urls = BTreeMap::new();
        if let Some(raw) = r.raw("LOGOUT_URLS") {
            match parse_logout_urls(&raw) {
                Ok(map) => logout_urls = map,
                Err(msg) => r.problem(
                    "LOGOUT_URLS",
                    msg,
                    r#"{"1example23456789":["https://app.example.com/signed-out"]}"#,
                ),
            }
        }

        let fail_open = r.boolean("AUTHORIZER_FAIL_OPEN", "false");
        let cache_ms = r.number(
            "REVOCATION_CACHE_MS",
            DEFAULT_REVOCATION_CACHE_MS,
            300_000,
            "1000",
        );
        let lifetime = r.number(
            "MAX_TOKEN_LIFETIME_SECONDS",
            DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
            86_400,
            "86400",
        );
        if lifetime < 300 {
            r.problem(
                "MAX_TOKEN_LIFETIME_SECONDS",
                "must be at least 300 (Cognito's shortest token lifetime)",
                "86400",
            );
        }
        let refresh = r.number(
            "REFRESH_TOKEN_LIFETIME_SECONDS",
            DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS,
            10 * 365 * 86_400,
            "2592000",
        );
        let leeway = r.number("TOKEN_LEEWAY_SECONDS", DEFAULT_LEEWAY_SECONDS, 300, "5");
        let cache_entries = r.number(
            "TOKEN_CACHE_ENTRIES",
            DEFAULT_TOKEN_CACHE_ENTRIES,
            1_000_000,
            "10000",
        );
        let cache_bytes = r.number(
            "TOKEN_CACHE_BYTES",
            DEFAULT_TOKEN_CACHE_BYTES,
            1024 * 1024 * 1024,
            "4194304",
        );
        let stamp_claim = stamp_claim::read(&mut r);
        let sdk_ms = r.number(
            "SDK_OPERATION_TIMEOUT_MS",
            DEFAULT_SDK_OPERATION_TIMEOUT_MS,
            60_000,
            "3000",
        );
        if sdk_ms < 50 {
            r.problem("SDK_OPERATION_TIMEOUT_MS", "must be at least 50", "3000");
        }

        let mut signing_problems = ConfigError::default();
        let events_signing = crate::events::Signing::from_lookup(&get, &mut signing_problems);
        r.problems.extend(signing_problems.problems);

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        // Every `None` below was reported as a problem above.
        Ok(Config {
            region: region.unwrap_or_default(),
            regions,
            user_pool_id: pool.unwrap_or_default(),
            table: table.unwrap_or_default(),
            app_client_ids,
            cognito_domain,
            jwks_url: jwks_url.expect("derived from region and pool"),
            jwks_json,
            issuer: issuer.unwrap_or_default(),
            logout_urls,
            fail_open,
            revocation_cache: Duration::from_millis(cache_ms),
            max_token_lifetime: Duration::from_secs(lifetime),
            refresh_token_lifetime: Duration::from_secs(refresh),
            leeway: Duration::from_secs(leeway),
            token_cache_entries: cache_entries as usize,
            token_cache_bytes: cache_bytes,
            stamp_claim,
            sdk_operation_timeout: Duration::from_millis(sdk_ms),
            events_signing,
        })
    }
}

/// Most Regions `SIGNOUT_REGIONS` may list: each adds five keys to a read,
/// and one `BatchGetItem` takes at most 100.
pub const MAX_REGIONS: usize = 10;

/// `SIGNOUT_REGIONS`: a comma list of Regions that must include `AWS_REGION`;
/// empty entries and repeats are ignored. Defaults to `AWS_REGION` alone.
fn parse_regions<F: Fn(&str) -> Option<String>>(
    r: &mut Reader<'_, F>,
    home: Option<&str>,
) -> Vec<String> {
    const EXAMPLE: &str = "us-east-1,eu-west-1";
    let mut regions: Vec<String> = home.map(str::to_owned).into_iter().collect();
    let Some(raw) = r.raw("SIGNOUT_REGIONS") else {
        return regions;
    };
    let mut listed_home = false;
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !valid_region(entry) {
            r.problem(
                "SIGNOUT_REGIONS",
                "every entry must be a Region name",
                EXAMPLE,
            );
            return regions;
        }
        listed_home |= Some(entry) == home;
        if !regions.iter().any(|x| x == entry) {
            regions.push(entry.to_owned());
        }
    }
    if let Some(h) = home
        && !listed_home
    {
        r.problem(
            "SIGNOUT_REGIONS",
            format!("must include AWS_REGION {h}"),
            EXAMPLE,
        );
    }
    if regions.len() > MAX_REGIONS {
        r.problem(
            "SIGNOUT_REGIONS",
            format!("may list at most {MAX_REGIONS} Regions"),
            EXAMPLE,
        );
    }
    regions
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && r.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

fn valid_pool_id(p: &str) -> bool {
    match p.split_once('_') {
        Some((region, id)) => {
            !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// `LOGOUT_URLS` is a JSON object from client id to a list of absolute URLs.
/// JSON rather than a delimited list because URLs may contain `,` `;` and `=`.
fn parse_logout_urls(raw: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let map: BTreeMap<String, Vec<String>> = serde_json::from_str(raw)
        .map_err(|_| "must be a JSON object of client id to a list of URLs".to_owned())?;
    for (client, urls) in &map {
        for u in urls {
            let parsed =
                Url::parse(u).map_err(|_| format!("entry for {client} is not an absolute URL"))?;
            let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if parsed.scheme() != "https" && !(parsed.scheme() == "http" && local) {
                return Err(format!(
                    "entry for {client} must use https (http only for localhost)"
                ));
            }
            if parsed.fragment().is_some()
                || !parsed.username().is_empty()
                || parsed.password().is_some()
            {
                return Err(format!(
                    "entry for {client} must have no fragment and no userinfo"
                ));
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("USER_POOL_ID", "eu-west-1_AbC123"),
        ("SIGNOUT_TABLE", "revocations"),
        ("APP_CLIENT_IDS", "abc123, def456"),
    ];

    #[test]
    fn defaults_are_derived_from_the_pool() {
        let c = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(
            c.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(
            c.jwks_url.as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json"
        );
        assert_eq!(c.app_client_ids.len(), 2);
        assert!(!c.fail_open);
        assert_eq!(c.max_token_lifetime, Duration::from_secs(86_400));
        assert_eq!(c.revocation_cache, Duration::from_millis(1_000));
        assert_eq!(c.stamp_claim, "signout_epoch");
        assert_eq!(c.regions, ["eu-west-1"]);
        assert_eq!(
            (c.token_cache_entries, c.token_cache_bytes),
            (10_000, 4 * 1024 * 1024)
        );
    }

    #[test]
    fn signout_regions_lists_every_writer_with_this_region_first() {
        let mut env = BASE.to_vec();
        env.push(("SIGNOUT_REGIONS", "us-east-1, eu-west-1,,us-east-1,"));
        let c = Config::from_lookup(lookup(&env)).unwrap();
        assert_eq!(c.regions, ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn a_replica_region_keeps_the_primary_pool_and_its_issuer() {
        let mut env = BASE.to_vec();
        env[0] = ("AWS_REGION", "us-east-1");
        env.push(("SIGNOUT_REGIONS", "eu-west-1,us-east-1"));
        let c = Config::from_lookup(lookup(&env)).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(
            c.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
    }

    #[test]
    fn signout_regions_must_name_this_region_and_only_regions() {
        for bad in ["us-east-1", "eu-west-1,not a region", "eu-west-1,EU-WEST-2"] {
            let mut env = BASE.to_vec();
            env.push(("SIGNOUT_REGIONS", bad));
            let err = Config::from_lookup(lookup(&env)).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{bad}");
            assert_eq!(err.problems[0].variable, "SIGNOUT_REGIONS", "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once_one_line_each() {
        let err = Config::from_lookup(lookup(&[
            ("USER_POOL_ID", "not a pool"),
            ("AUTHORIZER_FAIL_OPEN", "maybe"),
            ("REVOCATION_CACHE_MS", "-1"),
            ("LOGOUT_URLS", "https://x"),
        ]))
        .unwrap_err();
        let vars: Vec<_> = err.problems.iter().map(|p| p.variable.as_ref()).collect();
        assert_eq!(
            vars,
            [
                "AWS_REGION",
                "USER_POOL_ID",
                "SIGNOUT_TABLE",
                "APP_CLIENT_IDS",
                "LOGOUT_URLS",
                "AUTHORIZER_FAIL_OPEN",
                "REVOCATION_CACHE_MS"
            ]
        );
        let text = err.to_string();
        assert_eq!(text.lines().count(), 1 + vars.len());
        assert!(
            text.contains("AWS_REGION: is required but not set (example: AWS_REGION=eu-west-1)")
        );
    }

    #[test]
    fn pool_must_be_in_the_region() {
        let mut env = BASE.to_vec();
        env[0] = ("AWS_REGION", "us-east-1");
        let err = Config::from_lookup(lookup(&env)).unwrap_err();
        assert_eq!(err.problems[0].variable, "USER_POOL_ID");
        assert!(err.problems[0].message.contains("us-east-1"));
    }

    #[test]
    fn logout_urls_must_be_https_without_userinfo() {
        for bad in [
            r#"{"abc123":["http://app.example.com/"]}"#,
            r#"{"abc123":["https://user@app.example.com/"]}"#,
            r#"{"abc123":["https://app.example.com/#x"]}"#,
            r#"{"abc123":"https://app.example.com/"}"#,
            r#"{"abc123":["/relative"]}"#,
        ] {
            let mut env = BASE.to_vec();
            env.push(("LOGOUT_URLS", bad));
            let err = Config::from_lookup(lookup(&env)).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{bad}");
            assert_eq!(err.problems[0].variable, "LOGOUT_URLS");
        }
        let mut env = BASE.to_vec();
        env.push((
            "LOGOUT_URLS",
            r#"{"abc123":["https://app.example.com/bye","http://localhost:3000/"]}"#,
        ));
        let c = Config::from_lookup(lookup(&env)).unwrap();
        assert_eq!(c.logout_urls["abc123"].len(), 2);
    }

    #[test]
    fn overrides_are_honoured() {
        let mut env = BASE.to_vec();
        env.extend([
            (
                "JWKS_URL",
                "http://127.0.0.1:5000/eu-west-1_AbC123/.well-known/jwks.json",
            ),
            (
                "TOKEN_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
            ),
            ("AUTHORIZER_FAIL_OPEN", "TRUE"),
            ("REVOCATION_CACHE_MS", "0"),
            ("MAX_TOKEN_LIFETIME_SECONDS", "3600"),
            ("TOKEN_CACHE_ENTRIES", "0"),
            ("TOKEN_CACHE_BYTES", "65536"),
        ]);
        let c = Config::from_lookup(lookup(&env)).unwrap();
        assert_eq!(c.jwks_url.host_str(), Some("127.0.0.1"));
        assert!(c.fail_open);
        assert_eq!(c.revocation_cache, Duration::ZERO);
        assert_eq!(c.max_token_lifetime, Duration::from_secs(3600));
        assert_eq!((c.token_cache_entries, c.token_cache_bytes), (0, 65_536));
    }
}
