//! An ordered, lazy stream over one shard of one index partition.
//!
//! It asks DynamoDB for one page at a time, only when its buffer is empty and the caller
//! wants more, so the items read stay close to the items used. It counts what it read, and
//! reads within a [`ReadBudget`]: each page's `Limit` is at most what the budget has left.

use std::collections::VecDeque;
use std::time::Instant;

use super::{PageRequest, PartitionReader, ReadBudget, ReadStats, StoreError};
use crate::domain::AuditEvent;
use crate::keys::SortKey;

/// A lazy reader of one partition range in one direction.
pub struct PartitionStream<'r, R: PartitionReader + ?Sized> {
    reader: &'r R,
    request: PageRequest,
    /// Items read and not yet taken; `None` for an event the reader deferred
    /// ([`super::Page::keys`]), which whoever takes it fetches.
    buffer: VecDeque<(SortKey, Option<AuditEvent>)>,
    exhausted: bool,
    stats: ReadStats,
}

impl<'r, R: PartitionReader + ?Sized> PartitionStream<'r, R> {
    /// A stream over `request`'s range; nothing is read until [`Self::fill`].
    pub fn new(reader: &'r R, request: PageRequest) -> Self {
        Self {
            reader,
            request,
            buffer: VecDeque::new(),
            exhausted: false,
            stats: ReadStats::default(),
        }
    }

    /// Makes sure an item is buffered unless the range is exhausted, reading pages of at
    /// most `limit` items. Pages emptied by filters are followed until an item or the end,
    /// each twice the size of the previous one, so a selective filter costs few requests
    /// (DynamoDB's 1 MB page cap still bounds every read).
    pub async fn fill(&mut self, limit: u32) -> Result<(), StoreError> {
        self.fill_within(limit, &ReadBudget::unlimited()).await
    }

    /// As [`Self::fill`], within `budget`: when it is spent, the buffer may stay empty
    /// while the range is not exhausted ([`Self::is_starved`]); the stream has then
    /// examined its range up to [`Self::examined_until`].
    pub async fn fill_within(&mut self, limit: u32, budget: &ReadBudget) -> Result<(), StoreError> {
        let mut limit = limit.max(1);
        while self.buffer.is_empty() && !self.exhausted {
            if !self.read_once(limit, budget, false).await? {
                break;
            }
            limit = limit.saturating_mul(2);
        }
        Ok(())
    }

    /// Reads one page of at most `limit` items within `budget` (`ignore_time`: even when
    /// its time is up), unless the range is exhausted. Returns whether a read was made.
    pub async fn read_once(
        &mut self,
        limit: u32,
        budget: &ReadBudget,
        ignore_time: bool,
    ) -> Result<bool, StoreError> {
        if self.exhausted {
            return Ok(false);
        }
        let granted = budget.reserve(limit.max(1), ignore_time);
        if granted == 0 {
            return Ok(false);
        }
        self.request.limit = granted;
        let started = Instant::now();
        let page = self.reader.read_page(&self.request).await;
        self.stats.db_time += started.elapsed();
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                budget.refund(granted);
                return Err(e);
            }
        };
        budget.refund(granted.saturating_sub(page.scanned));
        self.stats.requests += page.requests.max(1);
        self.stats.items_read += u64::from(page.scanned);
        self.stats.items_fetched += u64::from(page.fetched);
        self.stats.read_capacity += page.read_capacity;
        match page.last_evaluated {
            Some(sk) => self.request.start_after = Some(sk),
            None => self.exhausted = true,
        }
        self.buffer
            .extend(page.items.into_iter().map(|(sk, e)| (sk, Some(e))));
        self.buffer
            .extend(page.keys.into_iter().map(|sk| (sk, None)));
        Ok(true)
    }

    /// Whether the stream holds no item although its range goes on: a read was refused
    /// by the budget.
    pub fn is_starved(&self) -> bool {
        self.buffer.is_empty() && !self.exhausted
    }

    /// Whether DynamoDB has nothing more in the range (items may still be buffered).
    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// The position up to which the range has been examined, when it is not exhausted:
    /// every item of the range up to it (in order) was read, and is taken or buffered.
    /// `None` before the first read of a range without a start.
    pub fn examined_until(&self) -> Option<&SortKey> {
        self.request.start_after.as_ref()
    }

    /// The next item, if buffered (its event `None` while deferred).
    pub fn peek(&self) -> Option<&(SortKey, Option<AuditEvent>)> {
        self.buffer.front()
    }

    /// Takes the next buffered item (its event `None` while deferred: the merge fetches
    /// the events of a page together).
    pub fn pop(&mut self) -> Option<(SortKey, Option<AuditEvent>)> {
        self.buffer.pop_front()
    }

    /// The next item with its event, reading a page of at most `limit` items if needed and
    /// fetching a deferred event alone (tools and tests; the merge fetches a page's events
    /// in one go). An event deleted since its index item was read is passed over.
    pub async fn next(&mut self, limit: u32) -> Result<Option<(SortKey, AuditEvent)>, StoreError> {
        loop {
            self.fill(limit).await?;
            match self.pop() {
                None => return Ok(None),
                Some((sk, Some(event))) => return Ok(Some((sk, event))),
                Some((sk, None)) => {
                    let started = Instant::now();
                    let (mut found, mut stats) = self
                        .reader
                        .fetch_events(&self.request.tenant, std::slice::from_ref(&sk))
                        .await?;
                    stats.db_time = started.elapsed();
                    self.stats.add(&stats);
                    if let Some(item) = found.pop() {
                        return Ok(Some((sk, item.1)));
                    }
                }
            }
        }
    }

    /// Whether no item is buffered and DynamoDB has no more.
    pub fn is_done(&self) -> bool {
        self.exhausted && self.buffer.is_empty()
    }

    /// Sort keys of the items buffered but not yet taken, in order.
    pub fn buffered_keys(&self) -> impl Iterator<Item = &SortKey> + '_ {
        self.buffer.iter().map(|(sk, _)| sk)
    }

    /// What this stream has read so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The request the stream reads (its range, order and filter).
    pub fn request(&self) -> &PageRequest {
        &self.request
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::domain::Timestamp;
    use crate::keys::{Partition, SortKey};
    use crate::store::{Order, Page};

    /// Serves pre-cut pages and records the requests it got.
    struct Pages {
        pages: Mutex<VecDeque<Page>>,
        seen: Mutex<Vec<(u32, Option<SortKey>)>>,
    }

    #[async_trait]
    impl PartitionReader for Pages {
        fn shards(&self) -> u16 {
            1
        }

        async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError> {
            self.seen
                .lock()
                .unwrap()
                .push((request.limit, request.start_after.clone()));
            Ok(self.pages.lock().unwrap().pop_front().unwrap())
        }
    }

    fn item(n: u32) -> (SortKey, AuditEvent) {
        let now = Timestamp::parse_rfc3339("now", "2024-01-01T00:00:00Z").unwrap();
        let e = AuditEvent::parse(
            &json!({ "eventId": format!("e{n}"), "tenantId": "t", "eventType": 101,
                     "occurredAt": "2023-01-01T00:00:00Z", "actor": { "id": "a" } }),
            now,
        )
        .unwrap();
        (SortKey::from_stored(format!("sk{n}")), e)
    }

    fn page(items: &[u32], scanned: u32, last: Option<&str>) -> Page {
        Page {
            items: items.iter().map(|n| item(*n)).collect(),
            last_evaluated: last.map(SortKey::from_stored),
            keys: Vec::new(),
            scanned,
            fetched: 0,
            requests: 1,
            read_capacity: 0.5,
        }
    }

    fn request() -> PageRequest {
        PageRequest {
            tenant: crate::domain::TenantId::parse("t").unwrap(),
            index: Partition::Time.index(),
            partition: "p".into(),
            lower: SortKey::from_stored("a"),
            upper: SortKey::from_stored("z"),
            order: Order::Desc,
            limit: 0,
            start_after: None,
            conditions: Vec::new(),
            visibility: Default::default(),
        }
    }

    #[tokio::test]
    async fn reads_lazily_follows_empty_filtered_pages_and_counts_everything() {
        let reader = Pages {
            pages: Mutex::new(VecDeque::from([
                page(&[1, 2], 2, Some("sk2")),
                page(&[], 3, Some("sk5")),
                page(&[6], 1, None),
            ])),
            seen: Mutex::new(Vec::new()),
        };
        let mut s = PartitionStream::new(&reader, request());
        assert_eq!(
            reader.seen.lock().unwrap().len(),
            0,
            "nothing read before fill"
        );
        assert_eq!(s.next(2).await.unwrap().unwrap().0.as_str(), "sk1");
        assert_eq!(s.next(2).await.unwrap().unwrap().0.as_str(), "sk2");
        assert_eq!(
            reader.seen.lock().unwrap().len(),
            1,
            "second item came from the buffer"
        );
        assert_eq!(s.next(3).await.unwrap().unwrap().0.as_str(), "sk6");
        assert!(s.is_done());
        assert_eq!(s.next(3).await.unwrap(), None);
        assert_eq!(
            *reader.seen.lock().unwrap(),
            vec![
                (2, None),
                (3, Some(SortKey::from_stored("sk2"))),
                (6, Some(SortKey::from_stored("sk5")))
            ]
        );
        let stats = s.stats();
        assert_eq!((stats.requests, stats.items_read), (3, 6));
        assert!((stats.read_capacity - 1.5).abs() < f64::EPSILON);
    }
}
