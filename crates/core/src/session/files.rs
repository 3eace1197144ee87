//! File transfer in a session (`[client-file-transfer]`). Files themselves live in the
//! store as documents; the session keeps their records and enforces the customer's
//! allowances. Agents, supervisors and bots are not limited (as in Genesys, where only
//! customer uploads are counted). Uploads and deletions are announced with `SYS_COMMAND`
//! notices `file-uploaded` / `file-deleted` carrying the file's user data.

use super::{Effect, Session};
use crate::error::CoreError;
use crate::event::{EventBody, NoticeType};
use crate::ids::{PartyId, UnixMillis};
use crate::party::{PartyType, UserData, Visibility};

/// Notice text of an upload.
pub const FILE_UPLOADED: &str = "file-uploaded";
/// Notice text of a deletion.
pub const FILE_DELETED: &str = "file-deleted";

/// The customer's allowances (`[client-file-transfer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    /// `upload-max-files`.
    pub max_files: u64,
    /// `upload-max-file-size` (bytes).
    pub max_file_size: u64,
    /// `upload-max-total-size` (bytes).
    pub max_total_size: u64,
    /// `upload-file-types`: allowed extensions, lower case, without dots (empty: any).
    pub file_types: Vec<String>,
    /// `upload-need-agent`: uploads only while a visible agent is present.
    pub need_agent: bool,
    /// `download-attempts`.
    pub download_attempts: u64,
    /// `delete-file`: deleting a file gives its upload allowance back.
    pub delete_returns_quota: bool,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            max_files: 3,
            max_file_size: 2_097_152,
            max_total_size: 5_242_880,
            file_types: Vec::new(),
            need_agent: false,
            download_attempts: 10,
            delete_returns_quota: false,
        }
    }
}

/// A stored file as the session knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Per-session id (`file-id`).
    pub file_id: u64,
    /// Store document id (`file-document-id`).
    pub document_id: String,
    /// File name as given (shown as text, never used as a path).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Content type.
    pub mime: String,
    /// Who uploaded it.
    pub uploader: PartyId,
    /// Whether the uploader is a customer (whose allowance it used).
    pub by_client: bool,
    /// Deleted since.
    pub deleted: bool,
}

/// A file that was stored and is to be announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// Store document id.
    pub document_id: String,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Content type.
    pub mime: String,
    /// Optional description (`file-description`).
    pub description: Option<String>,
}

/// Usage of the customer allowances so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileUsage {
    /// Uploads counted.
    pub uploads: u64,
    /// Bytes counted.
    pub bytes: u64,
    /// Downloads counted.
    pub downloads: u64,
}

/// Files of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Files {
    pub(super) records: Vec<FileRecord>,
    pub(super) usage: FileUsage,
}

fn extension(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

impl Session {
    /// How many bytes `party` may upload now (the streaming cap), or why it may not
    /// upload a file named `name` at all.
    pub fn upload_allowance(&self, party: &PartyId, name: &str) -> Result<u64, CoreError> {
        let p = self.present_party(party)?;
        let limits = &self.settings.files;
        let clean = name.trim();
        if clean.is_empty() || clean.len() > 255 || clean.chars().any(char::is_control) {
            return Err(CoreError::InvalidField {
                field: "file-name",
                reason: "must be 1 to 255 characters without control characters",
            });
        }
        if p.party_type != PartyType::Client {
            return Ok(u64::MAX);
        }
        if !limits.file_types.is_empty() {
            let ok = extension(clean).is_some_and(|e| limits.file_types.contains(&e));
            if !ok {
                return Err(CoreError::NotAllowed("this file type may not be uploaded"));
            }
        }
        if limits.need_agent
            && !self
                .parties
                .iter()
                .any(|a| a.present && a.is_visible_agent() && a.visibility == Visibility::All)
        {
            return Err(CoreError::NotAllowed(
                "files can be sent once an agent has joined",
            ));
        }
        let usage = self.files.usage;
        if usage.uploads >= limits.max_files {
            return Err(CoreError::LimitExceeded("upload-max-files reached"));
        }
        let left = limits.max_total_size.saturating_sub(usage.bytes);
        if left == 0 {
            return Err(CoreError::LimitExceeded("upload-max-total-size reached"));
        }
        Ok(left.min(limits.max_file_size))
    }

    /// The customer's allowances and their use, for `file/limits`.
    pub fn file_usage(&self) -> FileUsage {
        self.files.usage
    }

    /// The files of the session.
    pub fn files(&self) -> &[FileRecord] {
        &self.files.records
    }

    pub(super) fn upload(
        &mut self,
        now: UnixMillis,
        party: PartyId,
        file: UploadedFile,
    ) -> Result<Vec<Effect>, CoreError> {
        let cap = self.upload_allowance(&party, &file.name)?;
        if file.size > cap {
            return Err(CoreError::LimitExceeded("file too large"));
        }
        let file_id = self.files.records.len() as u64 + 1;
        let mut user_data = UserData::from([
            ("file-id".to_owned(), file_id.to_string()),
            ("file-name".to_owned(), file.name.trim().to_owned()),
            ("file-size".to_owned(), file.size.to_string()),
            ("file-source".to_owned(), "ucs".to_owned()),
            ("file-document-id".to_owned(), file.document_id.clone()),
            ("file-mime-type".to_owned(), file.mime.clone()),
        ]);
        if let Some(d) = file.description.filter(|d| !d.trim().is_empty()) {
            if d.len() > self.settings.limits.max_user_data_item_bytes {
                return Err(CoreError::LimitExceeded("file description too long"));
            }
            user_data.insert("file-description".to_owned(), d);
        }
        self.apply_upload(&party, file_id, &user_data);
        let body = EventBody::Notice {
            notice_type: NoticeType::SysCommand,
            text: Some(FILE_UPLOADED.to_owned()),
            user_data,
            client_msg_id: None,
        };
        Ok(vec![self.emit(
            now,
            party,
            Visibility::All,
            None,
            body,
            true,
        )])
    }

    /// Records an upload from its notice's user data (also used when restoring).
    pub(super) fn apply_upload(&mut self, party: &PartyId, file_id: u64, data: &UserData) {
        let by_client = self
            .party(party)
            .is_some_and(|p| p.party_type == PartyType::Client);
        let size = data
            .get("file-size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.files.records.push(FileRecord {
            file_id,
            document_id: data.get("file-document-id").cloned().unwrap_or_default(),
            name: data.get("file-name").cloned().unwrap_or_default(),
            size,
            mime: data
                .get("file-mime-type")
                .cloned()
                .unwrap_or_else(|| "application/octet-stream".into()),
            uploader: party.clone(),
            by_client,
            deleted: false,
        });
        if by_client {
            self.files.usage.uploads += 1;
            self.files.usage.bytes += size;
        }
    }

    pub(super) fn delete_file(
        &mut self,
        now: UnixMillis,
        party: PartyId,
        file_id: u64,
    ) -> Result<Vec<Effect>, CoreError> {
        let requester = self.present_party(&party)?;
        let staff = requester.party_type.is_staff();
        let record = self
            .files
            .records
            .iter()
            .find(|f| f.file_id == file_id && !f.deleted)
            .ok_or(CoreError::InvalidField {
                field: "fileId",
                reason: "no such file in the session",
            })?;
        if record.uploader != party && !staff {
            return Err(CoreError::NotAllowed(
                "only the uploader or an agent may delete a file",
            ));
        }
        let document_id = record.document_id.clone();
        let user_data = UserData::from([
            ("file-id".to_owned(), file_id.to_string()),
            ("file-name".to_owned(), record.name.clone()),
            ("file-document-id".to_owned(), document_id.clone()),
            ("file-deleted".to_owned(), "true".to_owned()),
        ]);
        self.apply_delete(file_id);
        let body = EventBody::Notice {
            notice_type: NoticeType::SysCommand,
            text: Some(FILE_DELETED.to_owned()),
            user_data,
            client_msg_id: None,
        };
        Ok(vec![
            self.emit(now, party, Visibility::All, None, body, true),
            Effect::DropDocument { document_id },
        ])
    }

    /// Marks a file deleted (also used when restoring).
    pub(super) fn apply_delete(&mut self, file_id: u64) {
        let give_back = self.settings.files.delete_returns_quota;
        if let Some(f) = self
            .files
            .records
            .iter_mut()
            .find(|f| f.file_id == file_id && !f.deleted)
        {
            f.deleted = true;
            if give_back && f.by_client {
                self.files.usage.uploads = self.files.usage.uploads.saturating_sub(1);
                self.files.usage.bytes = self.files.usage.bytes.saturating_sub(f.size);
            }
        }
    }

    pub(super) fn download(
        &mut self,
        party: PartyId,
        file_id: u64,
    ) -> Result<Vec<Effect>, CoreError> {
        let requester = self.present_party(&party)?;
        let is_client = requester.party_type == PartyType::Client;
        let record = self
            .files
            .records
            .iter()
            .find(|f| f.file_id == file_id && !f.deleted)
            .ok_or(CoreError::InvalidField {
                field: "fileId",
                reason: "no such file in the session",
            })?
            .clone();
        if is_client {
            if self.files.usage.downloads >= self.settings.files.download_attempts {
                return Err(CoreError::LimitExceeded("download-attempts reached"));
            }
            self.files.usage.downloads += 1;
        }
        Ok(vec![Effect::ServeDocument(record)])
    }
}
