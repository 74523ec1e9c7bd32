//! `[live.compliance] sensitive_words` in a running server: the word list is read when the
//! server starts (a mistake stops it, shown at its line and column) and read again on a timer
//! (`sensitive_words_check_interval`); a changed list goes to the switch task, which checks
//! every chat and e-mail message against the list in force. The switch audits the list read at
//! start-up, each list taken and each one refused for a mistake (`words.loaded`,
//! `words.reloaded`, `words.reload_refused`).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use switchboard_compliance::words::{SensitiveWords, WordListError, WordListFile};
use switchboard_engine::source_text::{located, located_at};
use switchboard_live::api::{Command, Reply, SharedWordList};
use switchboard_live::config::LiveConfig;
use switchboard_live::runtime::SwitchHandle;

/// The word list file `[live.compliance] sensitive_words` names (relative to the scenario's
/// folder), read and compiled; none when the key is not set.
pub fn open(scenario: &Path, live: &LiveConfig) -> anyhow::Result<Option<WordListFile>> {
    let Some(name) = &live.compliance.sensitive_words else {
        return Ok(None);
    };
    let path = scenario.parent().unwrap_or(Path::new(".")).join(name);
    let file = WordListFile::open(&path).map_err(|problem| {
        if problem.line == 0 {
            // The file cannot be read: the scenario's key is where to look.
            let text = std::fs::read_to_string(scenario).unwrap_or_default();
            let offset = toml_edit::ImDocument::parse(text.as_str())
                .ok()
                .and_then(|document| {
                    crate::scenario_file::locate_path(&document, "live.compliance.sensitive_words")
                })
                .map_or(0, |span| span.start);
            anyhow!(located(
                &scenario.display().to_string(),
                &text,
                offset,
                &format!("[live.compliance] sensitive_words: {}", problem.message)
            ))
        } else {
            anyhow!(word_list_problem(&problem))
        }
    })?;
    let list = file.current();
    tracing::info!(
        file = %path.display(),
        words = list.word_count(),
        allowed = list.allowed_count(),
        "chat messages checked for sensitive words"
    );
    Ok(Some(file))
}

/// A mistake in a word list at its line and column, with the line and a caret.
fn word_list_problem(problem: &WordListError) -> String {
    let text = std::fs::read_to_string(&problem.file).unwrap_or_default();
    located_at(
        &problem.file,
        &text,
        problem.line,
        problem.column,
        &problem.message,
    )
}

/// What the reload timer keeps between two looks at the file.
struct Reloader {
    file: WordListFile,
    /// New lists and mistakes the switch task has not heard of yet (its queue was full), in
    /// order: told again on the next tick. At most [`CHANGES_WAITING`].
    waiting: VecDeque<Change>,
    /// The last mistake reported, so that a file left broken is not reported every tick.
    last_problem: Option<String>,
}

/// Changes kept for a switch task that cannot hear them yet; beyond, the oldest is dropped
/// (a file changing at every tick while the switch is stuck for that long).
const CHANGES_WAITING: usize = 16;

/// What the switch is told about a changed file.
enum Change {
    Taken(Arc<SensitiveWords>),
    Refused(WordListError),
}

/// One look at the file, for the server's timer (`sensitive_words_check_interval`): a changed
/// list is compiled and handed to the switch. Runs on the blocking pool, so reading and
/// compiling a large list never holds up the switch task.
pub fn reload_job(file: WordListFile, switch: SwitchHandle) -> impl Fn() + Send + Sync {
    let runtime = tokio::runtime::Handle::current();
    let reloader = Mutex::new(Reloader {
        file,
        waiting: VecDeque::new(),
        last_problem: None,
    });
    move || {
        let mut reloader = reloader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let change = match reloader.file.reload_if_changed() {
            Ok(true) => {
                reloader.last_problem = None;
                Some(Change::Taken(reloader.file.current()))
            }
            Ok(false) => None,
            Err(problem) => {
                let text = word_list_problem(&problem);
                if reloader.last_problem.as_ref() != Some(&text) {
                    tracing::error!(
                        "sensitive words: the changed list is refused, the one in force stays: {text}"
                    );
                    reloader.last_problem = Some(text);
                    Some(Change::Refused(problem))
                } else {
                    None
                }
            }
        };
        if let Some(change) = change {
            if reloader.waiting.len() == CHANGES_WAITING {
                reloader.waiting.pop_front();
                tracing::warn!("sensitive words: the switch is not taking changes; the oldest one waiting is dropped");
            }
            reloader.waiting.push_back(change);
        }
        while let Some(change) = reloader.waiting.pop_front() {
            if !tell_switch(&runtime, &switch, &reloader.file, &change) {
                reloader.waiting.push_front(change);
                return;
            }
        }
    }
}

/// Tell the switch about one change; false when it cannot hear it now.
fn tell_switch(
    runtime: &tokio::runtime::Handle,
    switch: &SwitchHandle,
    file: &WordListFile,
    change: &Change,
) -> bool {
    let command = match change {
        Change::Taken(list) => Command::ReplaceSensitiveWords {
            list: SharedWordList(list.clone()),
            file: file.path().display().to_string(),
        },
        Change::Refused(problem) => Command::RefuseSensitiveWords {
            problem: problem.clone(),
        },
    };
    match (runtime.block_on(switch.ask(command)), change) {
        (Ok(Reply::WordList(view)), Change::Taken(_)) => {
            tracing::info!(
                words = view.words,
                allowed = view.allowed,
                "sensitive words: the changed list is in force"
            );
            true
        }
        (Ok(_), _) => true,
        (Err(_), _) => false,
    }
}
