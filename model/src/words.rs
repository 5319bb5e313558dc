//! Small helpers for the words of output strings.

/// `n` followed by the singular or the plural noun: `count(1, "step", "steps")` is `1 step`,
/// `count(0, "step", "steps")` is `0 steps`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn singular_only_for_one() {
        assert_eq!(count(0, "step", "steps"), "0 steps");
        assert_eq!(count(1, "step", "steps"), "1 step");
        assert_eq!(count(2, "property", "properties"), "2 properties");
    }
}
