//! `replay --report FILE.html`: the replay's events through the writer `serve` runs, into a
//! temporary store, then the console with every answer its pages read inlined in one HTML
//! file (`modelwatch::report`, `console::standalone_page`). The file is written beside its
//! destination under a temporary name and renamed onto it once whole, so a failed report
//! leaves nothing behind.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use modelwatch::console::standalone_page;
use modelwatch::report::ReportReplay;
use modelwatch_engine::wire::documents;
use modelwatch_engine::{Config, Format, WireParser};
use tempfile::NamedTempFile;

/// A report on its way: the temporary file beside its destination, made before the replay so
/// that a destination that cannot be written stops the command before it prints anything.
pub struct ReportFile {
    destination: PathBuf,
    temporary: NamedTempFile,
}

impl ReportFile {
    /// Makes the temporary file beside `destination`.
    pub fn create(destination: &Path) -> Result<ReportFile> {
        if destination.is_dir() {
            bail!(
                "cannot write the report {}: it is a directory",
                destination.display()
            );
        }
        let name = destination
            .file_name()
            .with_context(|| {
                format!(
                    "cannot write the report {}: it names no file",
                    destination.display()
                )
            })?
            .to_string_lossy()
            .into_owned();
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !directory.is_dir() {
            bail!(
                "cannot write the report {}: there is no directory {}",
                destination.display(),
                directory.display()
            );
        }
        // The error names the cause only: the temporary name is of no use to anyone.
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o644))
            .tempfile_in(directory)
            .map_err(|error| {
                anyhow!(
                    "cannot write the report {}: {}",
                    destination.display(),
                    std::io::Error::from(error.kind())
                )
            })?;
        Ok(ReportFile {
            destination: destination.to_path_buf(),
            temporary,
        })
    }

    /// Replays `files` (validated already) into a temporary store, writes the page and renames
    /// it onto the destination; says where on `note`.
    pub fn write(
        self,
        config: Arc<Config>,
        parser: &WireParser<'_>,
        files: &[(String, String)],
        note: &mut dyn Write,
    ) -> Result<()> {
        let store = tempfile::Builder::new()
            .prefix("modelwatch-report-")
            .tempdir()
            .context("cannot create the report's temporary directory")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let answers = runtime.block_on(async {
            let mut replay = ReportReplay::start(config, store.path()).await?;
            for (_, text) in files {
                for document in documents(text, Format::Auto) {
                    let Ok(document) = document else { continue };
                    let Ok(input) = parser.parse_document(&document) else {
                        continue;
                    };
                    replay.push(input).await?;
                }
            }
            replay.finish().await
        });
        drop(runtime);
        let answers = answers.context("cannot make the report")?;
        store
            .close()
            .context("cannot remove the report's temporary directory")?;
        let models = answers
            .get("/v1/models")
            .and_then(|models| models.get("items"))
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        let page = standalone_page(&answers).context("cannot make the report's page")?;
        let ReportFile {
            destination,
            mut temporary,
        } = self;
        let written = temporary
            .write_all(page.as_bytes())
            .and_then(|()| temporary.as_file().sync_all());
        written.with_context(|| format!("cannot write the report {}", destination.display()))?;
        temporary
            .persist(&destination)
            .map_err(|error| error.error)
            .with_context(|| format!("cannot write the report {}", destination.display()))?;
        writeln!(
            note,
            "report written to {} ({} bytes, {models} model{}): open it in a browser, no server needed",
            destination.display(),
            page.len(),
            if models == 1 { "" } else { "s" },
        )?;
        Ok(())
    }
}
