//! The only bodies the browser ever gets from us: fixed text, no input.

macro_rules! page {
    ($title:literal, $text:literal) => {
        concat!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>",
            $title,
            "</title></head>\n<body>\n<h1>",
            $title,
            "</h1>\n<p>",
            $text,
            "</p>\n</body>\n</html>\n"
        )
    };
}

pub const SIGNED_OUT: &str = page!("You are signed out", "You can close this window.");
pub const INVALID: &str = page!(
    "This sign-out link is not valid",
    "Return to the application and sign out from there."
);
pub const NOT_FOUND: &str = page!("Not found", "There is nothing at this address.");
pub const UNAVAILABLE: &str = page!(
    "Sign-out is temporarily unavailable",
    "Nothing was changed. Try again in a moment."
);
pub const METHOD_NOT_ALLOWED: &str = page!(
    "Method not allowed",
    "Sign-out links are followed with GET."
);

/// The confirmation page ([`confirm`](super::confirm)): one form, one
/// button, the CSRF token as its only field (base64url, which needs no
/// escaping); works without script, keyboard first (the button has focus).
pub fn confirm_html(csrf: &str) -> String {
    debug_assert!(
        csrf.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>Sign out?</title></head>\n<body>\n<main>\n<h1>Sign out?</h1>\n",
            "<p id=\"why\">A sign-out was requested for this browser. ",
            "Sign out only if you asked for it.</p>\n",
            "<form method=\"post\" action=\"logout\">\n",
            "<input type=\"hidden\" name=\"{field}\" value=\"{csrf}\">\n",
            "<button type=\"submit\" aria-describedby=\"why\" autofocus>Sign out</button>\n",
            "</form>\n<p>If you did not ask to sign out, close this page: nothing has changed.</p>\n",
            "</main>\n</body>\n</html>\n"
        ),
        field = super::confirm::CSRF_FIELD,
        csrf = csrf,
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The flow ended without a target (OIDC without `post_logout_redirect_uri`).
    SignedOut,
    /// Anything refused.
    Invalid,
    /// Our failure, not the link's: the keys to verify `id_token_hint`
    /// could not be fetched and the request names no client without it.
    Unavailable,
    NotFound,
    MethodNotAllowed,
}

impl Page {
    pub fn status(self) -> u16 {
        match self {
            Page::SignedOut => 200,
            Page::Invalid => 400,
            Page::Unavailable => 503,
            Page::NotFound => 404,
            Page::MethodNotAllowed => 405,
        }
    }

    pub fn html(self) -> &'static str {
        match self {
            Page::SignedOut => SIGNED_OUT,
            Page::Invalid => INVALID,
            Page::Unavailable => UNAVAILABLE,
            Page::NotFound => NOT_FOUND,
            Page::MethodNotAllowed => METHOD_NOT_ALLOWED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_fixed_and_say_what_happened() {
        for p in [
            Page::SignedOut,
            Page::Invalid,
            Page::Unavailable,
            Page::NotFound,
            Page::MethodNotAllowed,
        ] {
            assert!(p.html().starts_with("<!doctype html>"));
            assert!(!p.html().contains("<script"));
        }
        assert!(Page::SignedOut.html().contains("You are signed out"));
        assert!(
            Page::Invalid
                .html()
                .contains("This sign-out link is not valid")
        );
        assert_eq!(Page::Invalid.status(), 400);
        assert_eq!(Page::Unavailable.status(), 503);
    }

    #[test]
    fn the_confirmation_page_is_a_form_with_one_token_and_no_script() {
        let html = confirm_html("abc-_123");
        assert!(html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">"));
        assert!(html.contains("<form method=\"post\" action=\"logout\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"abc-_123\">"));
        assert!(html.contains("<button type=\"submit\""));
        assert!(!html.contains("<script") && !html.contains("<a "));
    }
}
