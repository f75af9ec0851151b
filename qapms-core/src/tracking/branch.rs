//! The current ticket, inferred from the git branch: `feature/PROJ-123-login` is `PROJ-123`.
//!
//! `.git/HEAD` is read directly (no git subprocess): it holds `ref: refs/heads/<branch>` on a
//! branch and a commit id when detached. In a linked worktree or a submodule `.git` is a file
//! saying `gitdir: <path>`, which is followed.

use std::path::{Path, PathBuf};

use crate::model::IssueKey;
use crate::{Error, Result};

/// The first issue key in a branch name, case-insensitive: `bugfix/proj-7` is `PROJ-7`. With
/// `projects` given, only keys of those projects count, so `release/v2-3` or `utf-8` do not
/// pass for tickets.
pub fn ticket_from_branch(branch: &str, projects: &[String]) -> Option<IssueKey> {
    let bytes = branch.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A key starts at a letter that does not continue a word.
        let starts = bytes[i].is_ascii_alphabetic()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_');
        if starts {
            let project_end = i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if bytes.get(project_end) == Some(&b'-') {
                let digits = bytes[project_end + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let end = project_end + 1 + digits;
                let boundary = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
                if digits > 0 && boundary {
                    let candidate = &branch[i..end];
                    if let Ok(key) = IssueKey::parse(candidate) {
                        let project = key.project().to_owned();
                        if projects.is_empty()
                            || projects.iter().any(|p| p.eq_ignore_ascii_case(&project))
                        {
                            return Some(key);
                        }
                    }
                }
            }
            i = project_end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// Finds the repository that holds `dir` (it or its nearest parent with `.git`) and returns the
/// checked-out branch name; `None` outside a repository or on a detached HEAD.
pub fn current_branch(dir: &Path) -> Result<Option<String>> {
    let Some(git) = dir.ancestors().map(|d| d.join(".git")).find(|p| p.exists()) else {
        return Ok(None);
    };
    let git_dir = if git.is_file() {
        let text = read(&git)?;
        let Some(target) = text.trim().strip_prefix("gitdir:") else {
            return Err(Error::invalid_input(format!(
                "{} is neither a directory nor a `gitdir:` file",
                git.display()
            )));
        };
        let target = PathBuf::from(target.trim());
        if target.is_relative() {
            git.parent().unwrap_or(Path::new("")).join(target)
        } else {
            target
        }
    } else {
        git
    };
    let head = read(&git_dir.join("HEAD"))?;
    Ok(head
        .trim()
        .strip_prefix("ref:")
        .map(str::trim)
        .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_owned()))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::from(e).with_context("file", path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(branch: &str, projects: &[&str]) -> Option<String> {
        let projects: Vec<String> = projects.iter().map(|p| (*p).to_owned()).collect();
        ticket_from_branch(branch, &projects).map(|k| k.to_string())
    }

    #[test]
    fn keys_come_out_of_common_branch_names() {
        assert_eq!(
            key("feature/PROJ-123-login", &[]).as_deref(),
            Some("PROJ-123")
        );
        assert_eq!(key("bugfix/proj-7", &[]).as_deref(), Some("PROJ-7"));
        assert_eq!(key("PAY-12", &[]).as_deref(), Some("PAY-12"));
        assert_eq!(key("alice/PAY_2-9_fix", &[]).as_deref(), Some("PAY_2-9"));
        assert_eq!(key("main", &[]), None);
        assert_eq!(key("feature/PROJ-", &[]), None);
        assert_eq!(key("feature/PROJ-12x", &[]), None);
        // Only configured projects, when there are some.
        assert_eq!(key("fix/utf-8-PAY-3", &["PAY"]).as_deref(), Some("PAY-3"));
        assert_eq!(key("fix/utf-8", &["PAY"]), None);
        assert_eq!(key("release/v2-3", &[]).as_deref(), Some("V2-3"));
        assert_eq!(key("release/v2-3", &["PAY"]), None);
    }

    #[test]
    fn head_is_read_from_a_repository_and_a_worktree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature/PAY-9-x\n").unwrap();
        assert_eq!(
            current_branch(&repo.join("src/deep")).unwrap().as_deref(),
            Some("feature/PAY-9-x")
        );
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(repo.join(".git/worktrees/wt")).unwrap();
        std::fs::write(
            repo.join(".git/worktrees/wt/HEAD"),
            "ref: refs/heads/bugfix/pay-2\n",
        )
        .unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), "gitdir: ../repo/.git/worktrees/wt\n").unwrap();
        assert_eq!(
            current_branch(&wt).unwrap().as_deref(),
            Some("bugfix/pay-2")
        );
        std::fs::write(repo.join(".git/HEAD"), "3f1c0ffee\n").unwrap();
        assert_eq!(current_branch(&repo).unwrap(), None);
    }
}
