//! Finding the token in what was given: the token itself, a cookie string
//! (`a=1; sessionid=ey...`), or pasted `Cookie:` / `Set-Cookie:` header lines.

/// The token found, and where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The token.
    pub(crate) token: String,
    /// The cookie's name, when the token was taken from a cookie.
    pub(crate) cookie: Option<String>,
    /// How many cookies carried that name (the first is inspected).
    pub(crate) count: usize,
}

/// Finds the token in `input`. The error is one line, names no secret.
pub(crate) fn find_token(input: &str, cookie_name: &str) -> Result<Found, String> {
    let input = input.trim_start_matches('\u{feff}').trim();
    if input.is_empty() {
        return Err("no token given (pass it as an argument or on stdin)".into());
    }
    let mut headers = Vec::new();
    for line in input.lines().map(str::trim) {
        if let Some(v) = strip_name(line, "set-cookie:") {
            // Set-Cookie: one cookie, its attributes after the first `;`.
            headers.push(v.split(';').next().unwrap_or_default().to_string());
        } else if let Some(v) = strip_name(line, "cookie:") {
            headers.push(v.to_string());
        }
    }
    let pairs: Vec<String> = if !headers.is_empty() {
        headers
    } else if input.contains('=') || input.contains(';') {
        // A bare cookie string, as in document.cookie or curl -b.
        vec![input.to_string()]
    } else {
        return Ok(Found {
            token: unquote(input).to_string(),
            cookie: None,
            count: 0,
        });
    };
    let mut names = Vec::new();
    let mut values = Vec::new();
    for pair in pairs.iter().flat_map(|h| h.split(';')) {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name == cookie_name {
            values.push(unquote(value.trim()).to_string());
        } else if !names.contains(&name) {
            names.push(name);
        }
    }
    match values.first() {
        Some(v) if v.is_empty() => Err(format!("the cookie {cookie_name:?} is empty")),
        Some(v) => Ok(Found {
            token: v.clone(),
            cookie: Some(cookie_name.to_string()),
            count: values.len(),
        }),
        None if names.is_empty() => Err("no cookie found in the input".into()),
        None => Err(format!(
            "no cookie named {cookie_name:?} (found: {}); use --cookie-name",
            names.join(", ")
        )),
    }
}

fn strip_name<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let head = line.get(..name.len())?;
    head.eq_ignore_ascii_case(name)
        .then(|| line[name.len()..].trim())
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(input: &str) -> Result<String, String> {
        find_token(input, "sessionid").map(|f| f.token)
    }

    #[test]
    fn a_bare_token_is_itself() {
        assert_eq!(token("  a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(token("\"a.b.c\"").unwrap(), "a.b.c");
        assert_eq!(find_token("a.b.c", "sessionid").unwrap().cookie, None);
    }

    #[test]
    fn cookie_header_lines_are_searched_by_name() {
        assert_eq!(
            token("Cookie: csrftoken=x; sessionid=a.b.c; other=y").unwrap(),
            "a.b.c"
        );
        assert_eq!(token("cookie:sessionid=\"a.b.c\"").unwrap(), "a.b.c");
        assert_eq!(
            token("Set-Cookie: sessionid=a.b.c; expires=Thu, 01 Jan 2099 00:00:00 GMT; HttpOnly; Path=/")
                .unwrap(),
            "a.b.c"
        );
        assert_eq!(token("csrftoken=x; sessionid=a.b.c").unwrap(), "a.b.c");
        let pasted = "HTTP/1.1 200 OK\nContent-Type: text/plain\nSet-Cookie: csrftoken=q; Path=/\nSet-Cookie: sessionid=a.b.c; Path=/\n";
        assert_eq!(token(pasted).unwrap(), "a.b.c");
    }

    #[test]
    fn other_names_and_duplicates() {
        let err = token("Cookie: csrftoken=x; sid=a.b.c").unwrap_err();
        assert_eq!(
            err,
            "no cookie named \"sessionid\" (found: csrftoken, sid); use --cookie-name"
        );
        assert_eq!(
            find_token("Cookie: sid=a.b.c", "sid").unwrap().token,
            "a.b.c"
        );
        let found = find_token("Cookie: sessionid=a.b.c; sessionid=d.e.f", "sessionid").unwrap();
        assert_eq!((found.token.as_str(), found.count), ("a.b.c", 2));
        assert!(token("Cookie: sessionid=").unwrap_err().contains("empty"));
        assert!(token("").is_err());
        assert!(token("Cookie: ;;").is_err());
    }
}
