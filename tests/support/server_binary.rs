//! Which `valkey-server` the tests and the bench run, and how they find programs on `PATH`: the
//! one copy of the lookup (the bench includes `tests/support` with `#[path]`).

use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The server binary the tests and the bench run: `FSTORE_TEST_SERVER` if set, else
/// `valkey-server` or `redis-server` from `PATH`. Panics, saying how to install one, if there is
/// none.
pub fn server_binary() -> String {
    static BINARY: OnceLock<String> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(binary) = env::var_os("FSTORE_TEST_SERVER").filter(|b| !b.is_empty()) {
                return binary.to_string_lossy().into_owned();
            }
            ["valkey-server", "redis-server"]
                .iter()
                .find_map(|name| find_on_path(name))
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_else(|| {
                    missing_server("neither `valkey-server` nor `redis-server` is on PATH")
                })
        })
        .clone()
}

/// The first executable file called `name` in a directory of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Panics with `problem` and how to get a server: the loud failure that replaces a skip.
pub fn missing_server(problem: &str) -> ! {
    panic!(
        "\n\n\
         ====================================================================\n \
         NO VALKEY/REDIS SERVER FOR THE INTEGRATION TESTS: {problem}\n\
         ====================================================================\n \
         Run the suite with `scripts/test`, which installs one, or install it:\n   \
         apt-get install -t bookworm-backports valkey-server\n \
         (with a bookworm-backports apt source), or point the tests at a binary:\n   \
         FSTORE_TEST_SERVER=/path/to/valkey-server cargo test\n \
         The bench (`cargo bench --bench seed_table`) also takes a running server:\n   \
         VALKEY_URL=redis://host:port cargo bench --bench seed_table\n \
         Tests are never skipped for lack of a server.\n\
         ====================================================================\n"
    )
}
