//! The local time zone, which staprun hands to every module it loads
//! (`tz_gmtoff()`, `tz_name()` and `tz_ctime()` read it).

/// The local time zone now: its offset in seconds west of UTC and its
/// abbreviation ("UTC" when the C library knows none).
pub fn local() -> (i64, String) {
    // SAFETY: time(NULL) and localtime_r into a zeroed tm are always valid;
    // tm_zone, when set, points at a static NUL-terminated string.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return (0, "UTC".to_string());
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        (-(tm.tm_gmtoff as i64), param_name(&zone))
    }
}

/// The zone's name as a module parameter takes it: letters, digits, `+`
/// and `-` only (POSIX abbreviations such as "+0530"), at most 15 bytes.
fn param_name(zone: &str) -> String {
    let name: String = zone
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '-')
        .take(15)
        .collect();
    if name.is_empty() {
        "UTC".to_string()
    } else {
        name
    }
}

/// The module parameters for the local time zone, unless `params` (the
/// user's own) already set them.
pub fn params(params: &[String]) -> Vec<String> {
    if params.iter().any(|p| p.starts_with("_stp_tz_")) {
        return Vec::new();
    }
    let (gmtoff, name) = local();
    vec![
        format!("_stp_tz_gmtoff={gmtoff}"),
        format!("_stp_tz_name={name}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_safe_module_parameters() {
        assert_eq!(param_name("CEST"), "CEST");
        assert_eq!(param_name("+0530"), "+0530");
        assert_eq!(param_name("a b=c\"d"), "abcd");
        assert_eq!(param_name(""), "UTC");
        assert_eq!(param_name("ABCDEFGHIJKLMNOPQRST").len(), 15);
    }

    #[test]
    fn the_users_own_settings_win() {
        assert!(params(&["_stp_tz_name=XYZ".to_string()]).is_empty());
        let ours = params(&[]);
        assert_eq!(ours.len(), 2);
        assert!(ours[0].starts_with("_stp_tz_gmtoff="));
        assert!(ours[1].starts_with("_stp_tz_name="));
    }
}
