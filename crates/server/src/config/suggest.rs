//! "Did you mean ...?": the known name nearest to an unknown one, for the messages about
//! unknown sections, options and `PARLEY_` variables.

/// How close a known name is to the unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nearness {
    /// The same letters and digits; only case or separators differ (`max_frame_size`,
    /// `transcript-autosave`). Surely meant.
    Same,
    /// A few edits away (`url` for `urls`). Probably meant.
    Near,
}

/// The name among `known` nearest to `unknown`, if it is near enough to be a slip rather
/// than another name: the same once case and separators are ignored, or within a third
/// of the unknown name's length in edits (at least one). On a tie the first one wins, so
/// list names in the order they are declared.
pub(super) fn nearest<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<(&'a str, Nearness)> {
    let unknown = loose_norm(unknown);
    let limit = unknown.chars().count().max(3) / 3;
    let (name, distance) = known
        .into_iter()
        .map(|name| (name, edit_distance(&unknown, &loose_norm(name))))
        .min_by_key(|(_, distance)| *distance)?;
    match distance {
        0 => Some((name, Nearness::Same)),
        d if d <= limit => Some((name, Nearness::Near)),
        _ => None,
    }
}

/// Lower-case letters and digits only: how names are compared for suggestions.
pub(super) fn loose_norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Levenshtein distance: the fewest one-character insertions, deletions and
/// substitutions that turn `a` into `b`. Written out (one row of the classic table at a
/// time) rather than taken from a crate: it is a dozen lines, and it only ever compares
/// a misspelt name with a few dozen short ones.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // row[j]: the distance between the part of `a` read so far and b[..j].
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let substitute = diagonal + usize::from(ca != *cb);
            row[j + 1] = substitute.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
