//! "Did you mean" suggestions, one distance for all of them: `strsim`'s
//! optimal string alignment, where a swap of two adjacent letters is one
//! edit (`pdi` is one edit from `pid`), as in a typo.
//!
//! [`closest`] picks one name out of a small closed set (preprocessor
//! conditions, `@` operators, probe-point components, script functions);
//! [`nearest`] ranks kernel names, `snake_case` words, so that candidates
//! sharing the query's significant words come first, then by distance.

/// Words that say little about what a kernel function does.
const WEAK_WORDS: &[&str] = &[
    "do", "sys", "x64", "ia32", "arm64", "se", "the", "of", "to", "and", "a", "is", "get", "set",
];

/// The longest name suggestions are made for or from: the kernel's
/// `KSYM_NAME_LEN`. The distance costs the product of the two lengths, so a
/// 100,000-character typo against every kernel function would take minutes.
pub const MAX_NAME: usize = 512;

/// The edit distance between `a` and `b` (insertions, deletions,
/// substitutions and adjacent transpositions each count one).
pub fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// The candidate closest to `name`, if one is within `limit(candidate)`
/// edits; among equally close ones the shortest, then the first in
/// alphabetical order.
pub fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: impl Fn(&str) -> usize,
) -> Option<&'a str> {
    let chars = name.chars().count();
    candidates
        .into_iter()
        // The distance is at least the difference in length: skip the
        // candidates that cannot be close without computing it.
        .filter(|c| c.chars().count().abs_diff(chars) <= limit(c))
        .map(|c| (distance(name, c), c.len(), c))
        .filter(|(d, _, c)| *d <= limit(c))
        .min()
        .map(|(.., c)| c)
}

/// SystemTap's ` (similar: a, b)` after a name it could not use (a
/// never-assigned variable, an unresolved function): up to five
/// candidates, nearest first (ties in the order given), however far;
/// empty when there is none.
pub fn systemtap_list<'n>(name: &str, candidates: impl IntoIterator<Item = &'n str>) -> String {
    let mut ranked: Vec<(usize, usize, &str)> = Vec::new();
    for (i, c) in candidates.into_iter().enumerate() {
        if !ranked.iter().any(|(.., r)| *r == c) {
            ranked.push((distance(name, c), i, c));
        }
    }
    ranked.sort();
    let names: Vec<&str> = ranked.iter().take(5).map(|(.., c)| *c).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (similar: {})", names.join(", "))
    }
}

/// The significant `_`-separated words of a name.
pub fn words(name: &str) -> Vec<&str> {
    words_of(name).collect()
}

fn words_of(name: &str) -> impl Iterator<Item = &str> {
    name.split(['_', ':', '.'])
        .filter(|w| !w.is_empty() && !WEAK_WORDS.contains(w))
}

/// Up to `max` candidates nearest to `query`, best first. A candidate is
/// kept when it is a small edit away (a typo in a significant word) or
/// shares the query's significant words.
pub fn nearest<'a>(
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    nearest_preferring(query, candidates, max, &|_| false)
}

/// Like [`nearest`], but among equally related candidates those for which
/// `prefer` holds (exported functions, say) come first.
pub fn nearest_preferring<'a>(
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
    prefer: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    if query.len() > MAX_NAME {
        return Vec::new();
    }
    let qwords = words(query);
    let typo_budget = (query.len() / 4).clamp(1, 3);
    let query_chars = query.chars().count();
    let mut scored: Vec<(usize, bool, usize, &str)> = Vec::new();
    // A kernel has some 50,000 functions: one buffer for every
    // candidate's words, and the distance (the costly part) computed only
    // for the candidates the words or the lengths do not already rule out.
    let mut cwords: Vec<&str> = Vec::new();
    for cand in candidates {
        if cand == query || cand.len() > MAX_NAME {
            continue;
        }
        cwords.clear();
        cwords.extend(words_of(cand));
        let shared = qwords.iter().filter(|w| cwords.contains(w)).count();
        let all_shared = !qwords.is_empty() && shared == qwords.len();
        let related = shared * 2 > qwords.len() && cwords.len() <= qwords.len() + 1;
        // The distance is at least the difference in length.
        if !all_shared && !related && cand.chars().count().abs_diff(query_chars) > typo_budget {
            continue;
        }
        let dist = distance(query, cand);
        let rank = if dist <= typo_budget && !all_shared {
            0
        } else if all_shared {
            1
        } else if related {
            2
        } else {
            continue;
        };
        scored.push((rank, !prefer(cand), dist, cand));
    }
    scored.sort();
    scored.dedup_by(|a, b| a.3 == b.3);
    scored
        .into_iter()
        .take(max)
        .map(|(.., c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
        assert_eq!(distance("pdi", "pid"), 1);
    }

    #[test]
    fn closest_of_a_small_set() {
        let known = ["begin", "end", "error", "never"];
        let limit = |_: &str| 2;
        assert_eq!(closest("begn", known, limit), Some("begin"));
        assert_eq!(closest("zzzzzz", known, limit), None);
        // Ties go to the shorter name.
        assert_eq!(closest("ab", ["abcd", "abc"], |_| 2), Some("abc"));
    }

    #[test]
    fn huge_names_cost_their_length_only() {
        // Each distance here would cost 100,000 x 20 steps: without the
        // length filters this takes minutes.
        let huge = "a".repeat(100_000);
        let many: Vec<String> = (0..20_000).map(|i| format!("function_{i:08}")).collect();
        let names = || many.iter().map(String::as_str);
        assert_eq!(closest(&huge, names(), |w| 2.max(w.len() / 4)), None);
        assert!(nearest(&huge, names(), 3).is_empty());
        let words = "a_".repeat(50_000);
        assert!(nearest(&words, names(), 3).is_empty());
        // Lengths apart by more than the limit are never close.
        assert_eq!(
            closest("abcdefgh", ["abc", "abcdefg"], |_| 2),
            Some("abcdefg")
        );
    }

    #[test]
    fn shared_words_rank_before_unrelated_names() {
        let cands = [
            "vfs_fsync",
            "vfs_fsync_range",
            "__x64_sys_fsync",
            "ksys_fdatasync",
            "do_fork",
            "sched_fork",
            "fsnotify",
        ];
        let got = nearest("do_fsync", cands, 4);
        assert_eq!(got, ["vfs_fsync", "__x64_sys_fsync", "vfs_fsync_range"]);
        assert_eq!(
            nearest("sched_swtich", ["sched_switch", "sched_wakeup"], 3),
            ["sched_switch"]
        );
        assert!(nearest("zzzz_qqq", cands, 3).is_empty());
        let exported = |n: &str| n == "vfs_fsync_range";
        assert_eq!(
            nearest_preferring("do_fsync", cands, 2, &exported),
            ["vfs_fsync_range", "vfs_fsync"]
        );
    }
}
