//! Name similarity for "did you mean" suggestions: kernel names are
//! `snake_case` words, so candidates sharing the query's significant words
//! rank first, then by edit distance.

/// Words that say little about what a kernel function does.
const WEAK_WORDS: &[&str] = &[
    "do", "sys", "x64", "ia32", "arm64", "se", "the", "of", "to", "and", "a", "is", "get", "set",
];

/// Edit distance between two strings (bytes), counting an adjacent
/// transposition as one edit (`pdi` is one edit from `pid`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = best;
        }
    }
    d[a.len() * w + b.len()]
}

/// The significant `_`-separated words of a name.
pub fn words(name: &str) -> Vec<&str> {
    name.split(['_', ':', '.'])
        .filter(|w| !w.is_empty() && !WEAK_WORDS.contains(w))
        .collect()
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
    let qwords = words(query);
    let typo_budget = (query.len() / 4).clamp(1, 3);
    let mut scored: Vec<(usize, bool, usize, &str)> = Vec::new();
    for cand in candidates {
        if cand == query {
            continue;
        }
        let cwords = words(cand);
        let shared = qwords.iter().filter(|w| cwords.contains(w)).count();
        let all_shared = !qwords.is_empty() && shared == qwords.len();
        let dist = edit_distance(query, cand);
        let rank = if dist <= typo_budget && !all_shared {
            0
        } else if all_shared {
            1
        } else if shared * 2 > qwords.len() && cwords.len() <= qwords.len() + 1 {
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
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("pdi", "pid"), 1);
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
