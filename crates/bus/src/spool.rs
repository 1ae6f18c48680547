//! A durable, append-only local spool for messages the broker could not take.
//!
//! Layout: `<dir>/<name>.spool` holds length-prefixed records; `<dir>/<name>.offset` holds the
//! byte offset up to which records were replayed and confirmed. A torn record at the tail (a crash
//! mid-append) is cut off on open. Replay may publish a record twice after a crash; consumers are
//! idempotent by message id.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::publisher::Outgoing;

/// The spool of one publisher.
pub struct Spool {
    path: PathBuf,
    offset_path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: File,
    /// Bytes of complete records in the file.
    len: u64,
    /// Bytes already replayed.
    offset: u64,
}

impl Spool {
    /// Opens (creating) the spool `name` in `dir`.
    pub fn open(dir: &Path, name: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.spool"));
        let offset_path = dir.join(format!("{name}.offset"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        let len = complete_len(&mut file)?;
        file.set_len(len)?;
        let offset = match std::fs::read(&offset_path) {
            Ok(bytes) if bytes.len() == 8 => {
                u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])).min(len)
            }
            _ => 0,
        };
        Ok(Self {
            path,
            offset_path,
            state: Mutex::new(State { file, len, offset }),
        })
    }

    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| std::io::Error::other("spool lock poisoned"))
    }

    /// Whether there is anything left to replay.
    pub fn is_empty(&self) -> bool {
        self.lock().map(|s| s.offset >= s.len).unwrap_or(true)
    }

    /// Bytes waiting to be replayed.
    pub fn pending_bytes(&self) -> u64 {
        self.lock().map(|s| s.len - s.offset).unwrap_or(0)
    }

    /// Appends messages and syncs them to disk before returning.
    pub fn append(&self, msgs: &[Outgoing]) -> std::io::Result<()> {
        if msgs.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for m in msgs {
            let body = encode(m);
            buf.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
            buf.extend_from_slice(&body);
        }
        let mut st = self.lock()?;
        let end = st.len;
        st.file.seek(SeekFrom::Start(end))?;
        st.file.write_all(&buf)?;
        st.file.sync_data()?;
        st.len += buf.len() as u64;
        Ok(())
    }

    /// Reads up to `max` records from the replay offset. Returns them with the offset just after.
    pub fn peek(&self, max: usize) -> std::io::Result<(Vec<Outgoing>, u64)> {
        let mut st = self.lock()?;
        let mut pos = st.offset;
        let end = st.len;
        let mut out = Vec::new();
        st.file.seek(SeekFrom::Start(pos))?;
        while out.len() < max && pos < end {
            let mut len = [0u8; 4];
            st.file.read_exact(&mut len)?;
            let len = u32::from_le_bytes(len) as usize;
            let mut body = vec![0u8; len];
            st.file.read_exact(&mut body)?;
            pos += 4 + len as u64;
            match decode(&body) {
                Some(m) => out.push(m),
                None => {
                    tracing::error!(path = %self.path.display(), "skipping an unreadable spool record")
                }
            }
        }
        Ok((out, pos))
    }

    /// Marks everything before `offset` as delivered; empties the files once all is delivered.
    pub fn commit(&self, offset: u64) -> std::io::Result<()> {
        let mut st = self.lock()?;
        st.offset = offset.min(st.len);
        if st.offset >= st.len {
            st.file.set_len(0)?;
            st.file.sync_data()?;
            st.len = 0;
            st.offset = 0;
        }
        let tmp = self.offset_path.with_extension("offset.tmp");
        std::fs::write(&tmp, st.offset.to_le_bytes())?;
        std::fs::rename(&tmp, &self.offset_path)?;
        Ok(())
    }
}

fn complete_len(file: &mut File) -> std::io::Result<u64> {
    let total = file.metadata()?.len();
    let mut pos = 0u64;
    file.seek(SeekFrom::Start(0))?;
    loop {
        if pos + 4 > total {
            return Ok(pos);
        }
        let mut len = [0u8; 4];
        file.read_exact(&mut len)?;
        let next = pos + 4 + u64::from(u32::from_le_bytes(len));
        if next > total {
            return Ok(pos);
        }
        file.seek(SeekFrom::Start(next))?;
        pos = next;
    }
}

fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    buf.extend_from_slice(bytes);
}

fn encode(m: &Outgoing) -> Vec<u8> {
    let mut buf = Vec::with_capacity(m.payload.len() + 64);
    put(&mut buf, m.exchange.as_bytes());
    put(&mut buf, m.routing_key.as_bytes());
    put(&mut buf, m.schema.as_bytes());
    put(&mut buf, m.message_id.as_bytes());
    put(&mut buf, &m.payload);
    buf
}

fn take<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = buf.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return None;
    }
    let (field, rest) = rest.split_at(len);
    *buf = rest;
    Some(field)
}

fn decode(mut buf: &[u8]) -> Option<Outgoing> {
    let exchange = String::from_utf8(take(&mut buf)?.to_vec()).ok()?;
    let routing_key = String::from_utf8(take(&mut buf)?.to_vec()).ok()?;
    let schema = String::from_utf8(take(&mut buf)?.to_vec()).ok()?;
    let message_id = String::from_utf8(take(&mut buf)?.to_vec()).ok()?;
    let payload = take(&mut buf)?.to_vec();
    Some(Outgoing {
        exchange,
        routing_key,
        schema,
        message_id,
        payload,
        typed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Outgoing {
        Outgoing {
            exchange: "keyward.usage".into(),
            routing_key: "usage".into(),
            schema: "keyward.v1.UsageEvent".into(),
            message_id: format!("id-{i}"),
            payload: vec![i as u8; (i % 7) as usize],
            typed: false,
        }
    }

    #[test]
    fn append_peek_commit_in_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "p").unwrap();
        assert!(spool.is_empty());
        spool.append(&(0..10).map(msg).collect::<Vec<_>>()).unwrap();
        let (first, off) = spool.peek(4).unwrap();
        assert_eq!(
            first
                .iter()
                .map(|m| m.message_id.as_str())
                .collect::<Vec<_>>(),
            ["id-0", "id-1", "id-2", "id-3"]
        );
        spool.commit(off).unwrap();
        drop(spool);

        let spool = Spool::open(dir.path(), "p").unwrap();
        let (rest, off) = spool.peek(100).unwrap();
        assert_eq!(rest.len(), 6);
        assert_eq!(rest[0].message_id, "id-4");
        assert_eq!(rest[5].payload, msg(9).payload);
        spool.commit(off).unwrap();
        assert!(spool.is_empty());
        assert_eq!(
            std::fs::metadata(dir.path().join("p.spool")).unwrap().len(),
            0
        );
    }

    #[test]
    fn a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), "p").unwrap();
        spool.append(&[msg(1), msg(2)]).unwrap();
        drop(spool);
        let path = dir.path().join("p.spool");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let spool = Spool::open(dir.path(), "p").unwrap();
        let (all, _) = spool.peek(10).unwrap();
        assert_eq!(all.len(), 2);
    }
}
