//! The lazy k-way merge of partition streams on the sort key.
//!
//! Every stream yields its partition's events in sort-key order; the merge repeatedly takes
//! the best head (newest for `desc`, oldest for `asc`) from a heap. To compare heads, every
//! unfinished stream must hold one, so a stream is read again only when the item just taken
//! emptied it and another item is still wanted.
//!
//! Read sizes decide the cost: a DynamoDB Query with `Limit = n` reads (and bills) up to
//! `n` items, so asking each of `k` streams for a full page would read `k` pages to return
//! one. The merge wants `w = skip + take + 1` items (the `+ 1` tells whether a next page
//! exists) and reads like this:
//! - one stream: `w` items at once;
//! - `k` streams (shards are filled evenly by a hash): first about three quarters of an
//!   even share, `ceil(3w / 4k)` each, all at once, so that cold streams seldom read past
//!   the page; then a stream that runs dry asks for an even share of what is still wanted,
//!   `ceil(r / k)`, scaled up by how many of its reads its FilterExpression dropped;
//! - a refill never reads past the `r`-th best item the other streams already hold (its
//!   key range is narrowed to it): nothing beyond it can make the page.
//!
//! With uniform shards this reads about `take + k` items for a first page (the page plus
//! one look-ahead per stream), in a few round trips.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};

use crate::domain::AuditEvent;
use crate::keys::SortKey;
use crate::store::{
    Order, PageRequest, PartitionReader, PartitionStream, ReadBudget, ReadStats, StoreError,
};

/// How many streams are read at once when a query starts.
const INITIAL_READ_CONCURRENCY: usize = 16;

/// A merged page.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// The items after the skipped ones, each with its sort key, in order.
    pub items: Vec<(SortKey, AuditEvent)>,
    /// Whether at least one more item follows the last one returned.
    pub has_more: bool,
    /// What the reads cost; `db_time` is the wall time spent waiting for the store.
    pub stats: ReadStats,
    /// How many streams were merged.
    pub streams: usize,
    /// Set when the budget stopped the merge before the page was full.
    pub stop: Option<Stop>,
}

/// Where a merge the budget stopped resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Every item up to this key (in order) was returned or skipped: the next read resumes
    /// strictly after it. `None` when a stream examined nothing (not with a budget of at
    /// least one item per stream).
    pub after: Option<SortKey>,
    /// Matches still to skip after it, when the stop came before the page's first item.
    pub skip: u64,
}

/// The next item of one stream, ordered so that the heap's top is the next to emit.
struct Head {
    sk: SortKey,
    stream: usize,
    order: Order,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_key = match self.order {
            Order::Desc => self.sk.cmp(&other.sk),
            Order::Asc => other.sk.cmp(&self.sk),
        };
        // Sort keys are unique per tenant; the stream index only keeps the order total.
        by_key.then_with(|| other.stream.cmp(&self.stream))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

fn to_limit(n: u64) -> u32 {
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// Items each of `k` streams reads first, for `wanted` items in all.
fn first_limit(wanted: u64, k: u64) -> u32 {
    if k <= 1 {
        to_limit(wanted)
    } else {
        to_limit((3 * wanted).div_ceil(4 * k))
    }
}

/// The read size for a stream that ran dry: an even share of the `remaining` items still
/// wanted, divided by the fraction of its reads that passed the filter.
fn refill_limit(read: u64, returned: u64, remaining: u64, k: u64) -> u32 {
    let share = remaining.div_ceil(k.max(1)).max(1);
    // Smoothed, so that one empty filtered page does not make the next read huge.
    let passed = ((returned + 1) as f64 / (read + 1) as f64).min(1.0);
    to_limit((share as f64 / passed).ceil() as u64)
}

/// Whether `sk` comes strictly after `bound` in `order`.
fn beyond(sk: &SortKey, bound: &SortKey, order: Order) -> bool {
    match order {
        Order::Desc => sk < bound,
        Order::Asc => sk > bound,
    }
}

/// The `r`-th best key among the items the streams other than `except` hold, if they hold
/// that many: no item after it can be among the next `r` items emitted.
fn rth_best_elsewhere<R: PartitionReader + ?Sized>(
    streams: &[PartitionStream<'_, R>],
    except: usize,
    r: u64,
    order: Order,
) -> Option<SortKey> {
    let r = usize::try_from(r).ok()?;
    let mut keys: Vec<&SortKey> = streams
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != except)
        .flat_map(|(_, s)| s.buffered_keys())
        .collect();
    if r == 0 || keys.len() < r {
        return None;
    }
    let (_, nth, _) = match order {
        Order::Desc => keys.select_nth_unstable_by(r - 1, |a, b| b.cmp(a)),
        Order::Asc => keys.select_nth_unstable(r - 1),
    };
    Some((*nth).clone())
}

/// Merges the streams of `requests` (one per partition shard, same order and range), skips
/// `skip` items and returns the next `take`, reading as little as it can within `budget`. Every stream reads once whatever the budget's
/// time (an even share of its items each, at least one: `budget` must allow one item per
/// stream), so that every answer makes progress; after that, a read the budget refuses
/// stops the merge ([`MergeOutcome::stop`]).
pub async fn read_merged_within<R: PartitionReader + ?Sized>(
    reader: &R,
    requests: Vec<PageRequest>,
    skip: u64,
    take: u32,
    budget: &ReadBudget,
) -> Result<MergeOutcome, StoreError> {
    let k = requests.len();
    let Some((order, tenant)) = requests.first().map(|r| (r.order, r.tenant.clone())) else {
        return Ok(MergeOutcome {
            items: Vec::new(),
            has_more: false,
            stats: ReadStats::default(),
            streams: 0,
            stop: None,
        });
    };
    let mut streams: Vec<PartitionStream<'_, R>> = requests
        .into_iter()
        .map(|r| PartitionStream::new(reader, r))
        .collect();
    // What streams replaced by a narrowed one had read.
    let mut earlier = vec![ReadStats::default(); k];
    // Streams that cannot contribute to this page any more.
    let mut finished = vec![false; k];
    // The bound a narrowed stream's range now ends at.
    let mut narrowed_to: Vec<Option<SortKey>> = vec![None; k];
    let target = skip + u64::from(take);
    let wanted = target + 1;
    let mut db_time = Duration::ZERO;

    let share = (budget.remaining() / k as u64).max(1);
    let limit = to_limit(u64::from(first_limit(wanted, k as u64)).min(share));
    let started = Instant::now();
    // Collected first: a closure inside the stream would make the future's type depend on
    // it, which the compiler cannot prove `Send` for every lifetime.
    let firsts: Vec<_> = streams
        .iter_mut()
        .map(|s| s.read_once(limit, budget, true))
        .collect();
    futures::stream::iter(firsts)
        .buffer_unordered(INITIAL_READ_CONCURRENCY)
        .try_collect::<Vec<bool>>()
        .await?;
    // Streams whose first page the filters emptied read on, within the budget, each page
    // twice the previous one.
    let fills: Vec<_> = streams
        .iter_mut()
        .filter(|s| s.is_starved())
        .map(|s| s.fill_within(limit.saturating_mul(2), budget))
        .collect();
    futures::stream::iter(fills)
        .buffer_unordered(INITIAL_READ_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    db_time += started.elapsed();
    let mut stopped = streams.iter().any(|s| s.is_starved());

    let mut heap = BinaryHeap::with_capacity(k);
    for (stream, s) in streams.iter().enumerate() {
        if let Some((sk, _)) = s.peek() {
            heap.push(Head {
                sk: sk.clone(),
                stream,
                order,
            });
        }
    }
    let mut cursor = Cursor {
        taken: vec![0u64; k],
        emitted: 0,
        skip,
        items: Vec::with_capacity(usize::try_from(take).unwrap_or(0)),
        last_sk: None,
    };
    // A stream the last item emptied: it must be read before the next comparison.
    let mut dry: Option<usize> = None;

    while !stopped && cursor.emitted < target {
        if let Some(i) = dry.take() {
            let remaining = wanted.saturating_sub(cursor.emitted);
            if let Some(bound) = rth_best_elsewhere(&streams, i, remaining, order) {
                let frontier = streams[i].request().start_after.clone();
                if frontier.is_some_and(|f| !beyond(&bound, &f, order)) {
                    // Everything this stream still holds comes after the bound.
                    finished[i] = true;
                } else {
                    let mut narrowed = streams[i].request().clone();
                    match order {
                        Order::Desc => narrowed.lower = narrowed.lower.max(bound),
                        Order::Asc => narrowed.upper = narrowed.upper.min(bound),
                    }
                    narrowed_to[i] = Some(match order {
                        Order::Desc => narrowed.lower.clone(),
                        Order::Asc => narrowed.upper.clone(),
                    });
                    earlier[i].add(streams[i].stats());
                    streams[i] = PartitionStream::new(reader, narrowed);
                }
            }
            if !finished[i] {
                let read = earlier[i].items_read + streams[i].stats().items_read;
                let limit = refill_limit(read, cursor.taken[i], remaining, k as u64);
                let started = Instant::now();
                streams[i].fill_within(limit, budget).await?;
                db_time += started.elapsed();
                if streams[i].is_starved() {
                    stopped = true;
                    break;
                }
                if let Some((sk, _)) = streams[i].peek() {
                    heap.push(Head {
                        sk: sk.clone(),
                        stream: i,
                        order,
                    });
                }
            }
        }
        let Some(emptied) = cursor.take_next(&mut heap, &mut streams, order, None) else {
            break;
        };
        if let Some(i) = emptied.filter(|i| !finished[*i]) {
            dry = Some(i);
        }
    }

    let mut stop = None;
    let has_more = if stopped {
        let resume = resume_position(&streams, &narrowed_to, order);
        if let Some(r) = &resume {
            // Every item up to the resume position is taken or buffered: hand out the
            // buffered ones, or the next answer, resuming after it, would miss them.
            while cursor.emitted < target {
                if cursor
                    .take_next(&mut heap, &mut streams, order, Some(r))
                    .is_none()
                {
                    break;
                }
            }
        }
        if cursor.emitted < target {
            stop = Some(Stop {
                after: resume,
                skip: skip.saturating_sub(cursor.emitted),
            });
        }
        true
    } else if !heap.is_empty() {
        true
    } else if let Some(i) = dry {
        // Everything else is exhausted: one small read tells whether this stream goes on.
        let started = Instant::now();
        streams[i].fill_within(1, budget).await?;
        db_time += started.elapsed();
        // Unknown when the budget refused the read: say there may be more.
        streams[i].peek().is_some() || streams[i].is_starved()
    } else {
        false
    };

    let mut stats = ReadStats::default();
    for (s, before) in streams.iter().zip(&earlier) {
        stats.add(before);
        stats.add(s.stats());
    }
    // The events the readers deferred, fetched for the page's items only, together.
    let deferred: Vec<SortKey> = cursor
        .items
        .iter()
        .filter(|(_, event)| event.is_none())
        .map(|(sk, _)| sk.clone())
        .collect();
    let mut fetched: HashMap<SortKey, AuditEvent> = HashMap::new();
    if !deferred.is_empty() {
        let started = Instant::now();
        let (found, fetch_stats) = reader.fetch_events(&tenant, &deferred).await?;
        db_time += started.elapsed();
        stats.add(&fetch_stats);
        fetched = found.into_iter().collect();
    }
    // An event deleted (expired) since its index item was read is left out.
    let items = cursor
        .items
        .into_iter()
        .filter_map(|(sk, event)| match event {
            Some(event) => Some((sk, event)),
            None => fetched.remove(&sk).map(|event| (sk, event)),
        })
        .collect();
    stats.db_time = db_time;
    Ok(MergeOutcome {
        items,
        has_more,
        stats,
        streams: k,
        stop,
    })
}

/// Where a merge stopped by its budget resumes: the least advanced position up to which
/// every stream has examined its range (the last examined key of a stream that goes on, the
/// bound of a narrowed stream that reached it). `None` when a stream has examined nothing.
/// A position past every stream's range cannot occur: a stopped merge has a starved stream.
fn resume_position<R: PartitionReader + ?Sized>(
    streams: &[PartitionStream<'_, R>],
    narrowed_to: &[Option<SortKey>],
    order: Order,
) -> Option<SortKey> {
    let mut least: Option<SortKey> = None;
    for (s, narrowed) in streams.iter().zip(narrowed_to) {
        let examined = if s.is_exhausted() {
            match narrowed {
                // Its whole range is examined.
                None => continue,
                Some(bound) => bound.clone(),
            }
        } else {
            s.examined_until()?.clone()
        };
        least = match least {
            Some(l) if !beyond(&l, &examined, order) => Some(l),
            _ => Some(examined),
        };
    }
    least
}

/// What the merge has emitted so far.
struct Cursor {
    taken: Vec<u64>,
    emitted: u64,
    skip: u64,
    /// Taken items; `None` for an event still to fetch.
    items: Vec<(SortKey, Option<AuditEvent>)>,
    last_sk: Option<SortKey>,
}

impl Cursor {
    /// Takes the best head, unless there is none or it lies beyond `up_to`. Returns
    /// `Some(Some(i))` when taking it emptied stream `i`'s buffer while its range goes on.
    fn take_next<R: PartitionReader + ?Sized>(
        &mut self,
        heap: &mut BinaryHeap<Head>,
        streams: &mut [PartitionStream<'_, R>],
        order: Order,
        up_to: Option<&SortKey>,
    ) -> Option<Option<usize>> {
        if let (Some(bound), Some(head)) = (up_to, heap.peek()) {
            if beyond(&head.sk, bound, order) {
                return None;
            }
        }
        let head = heap.pop()?;
        let i = head.stream;
        let Some((sk, event)) = streams[i].pop() else {
            return Some(None);
        };
        self.taken[i] += 1;
        let emptied = match streams[i].peek() {
            Some((next, _)) => {
                heap.push(Head {
                    sk: next.clone(),
                    stream: i,
                    order,
                });
                None
            }
            None if !streams[i].is_done() => Some(i),
            None => None,
        };
        if self.last_sk.as_ref() == Some(&sk) {
            // The same event from two partitions cannot happen with disjoint sources;
            // skipping it keeps pages duplicate-free even so.
            return Some(emptied);
        }
        self.emitted += 1;
        self.last_sk = Some(sk.clone());
        if self.emitted > self.skip {
            self.items.push((sk, event));
        }
        Some(emptied)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::domain::{TenantId, Timestamp};
    use crate::keys::Partition;
    use crate::store::Page;

    /// The merge without a budget: these tests are about order, gaps and cost per page.
    async fn read_merged<R: PartitionReader + ?Sized>(
        reader: &R,
        requests: Vec<PageRequest>,
        skip: u64,
        take: u32,
    ) -> Result<MergeOutcome, StoreError> {
        read_merged_within(reader, requests, skip, take, &ReadBudget::unlimited()).await
    }

    /// A fake index: each partition is a sorted list of sort keys, some of which a filter
    /// drops. It serves `Limit`-sized pages the way DynamoDB does and counts reads.
    struct FakeIndex {
        partitions: HashMap<String, Vec<(String, bool)>>,
        requests: Mutex<u32>,
    }

    fn event(sk: &str) -> AuditEvent {
        let now = Timestamp::parse_rfc3339("now", "2030-01-01T00:00:00Z").unwrap();
        let id = sk.split_once('#').unwrap().1;
        AuditEvent::parse(
            &json!({ "eventId": id, "tenantId": "t", "eventType": 101,
                     "occurredAt": "2024-01-01T00:00:00Z", "actor": { "id": "a" } }),
            now,
        )
        .unwrap()
    }

    #[async_trait]
    impl PartitionReader for FakeIndex {
        fn shards(&self) -> u16 {
            1
        }

        async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError> {
            *self.requests.lock().unwrap() += 1;
            let all = self
                .partitions
                .get(&request.partition)
                .cloned()
                .unwrap_or_default();
            let mut ordered: Vec<(String, bool)> = all
                .into_iter()
                .filter(|(sk, _)| {
                    sk.as_str() >= request.lower.as_str() && sk.as_str() <= request.upper.as_str()
                })
                .collect();
            ordered.sort();
            if request.order == Order::Desc {
                ordered.reverse();
            }
            let start = match &request.start_after {
                None => 0,
                Some(after) => ordered
                    .iter()
                    .position(|(sk, _)| match request.order {
                        Order::Asc => sk.as_str() > after.as_str(),
                        Order::Desc => sk.as_str() < after.as_str(),
                    })
                    .unwrap_or(ordered.len()),
            };
            let limit = request.limit as usize;
            let slice: Vec<(String, bool)> =
                ordered.iter().skip(start).take(limit).cloned().collect();
            let more = start + slice.len() < ordered.len();
            Ok(Page {
                last_evaluated: if more {
                    slice.last().map(|(sk, _)| SortKey::from_stored(sk.clone()))
                } else {
                    None
                },
                keys: Vec::new(),
                scanned: slice.len() as u32,
                fetched: 0,
                requests: 1,
                read_capacity: 0.0,
                items: slice
                    .into_iter()
                    .filter(|(_, keep)| *keep)
                    .map(|(sk, _)| {
                        let e = event(&sk);
                        (SortKey::from_stored(sk), e)
                    })
                    .collect(),
            })
        }
    }

    fn request(partition: &str, order: Order, start_after: Option<&str>) -> PageRequest {
        PageRequest {
            tenant: TenantId::parse("t").unwrap(),
            index: Partition::Time.index(),
            partition: partition.to_owned(),
            lower: SortKey::from_stored("0"),
            upper: SortKey::from_stored("~"),
            order,
            limit: 1,
            start_after: start_after.map(SortKey::from_stored),
            conditions: Vec::new(),
            visibility: Default::default(),
        }
    }

    /// A pseudo-random but reproducible generator (xorshift), so the fakes need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// `n` events spread over `k` partitions, with every `drop_every`-th one filtered out.
    fn index(n: usize, k: usize, seed: u64, drop_every: usize) -> (FakeIndex, Vec<String>) {
        let mut rng = Rng(seed);
        let mut partitions: HashMap<String, Vec<(String, bool)>> = HashMap::new();
        let mut kept = Vec::new();
        for i in 0..n {
            // Several events share a millisecond, so ties break on the id.
            let sk = format!("2024-01-01T00:00:{:02}.000Z#e{i:05}", (i / 3) % 60);
            let sk = format!("{:04}{sk}", i / 180);
            let keep = drop_every == 0 || i % drop_every != 0;
            let p = format!("p{}", rng.next() % k as u64);
            partitions.entry(p).or_default().push((sk.clone(), keep));
            if keep {
                kept.push(sk);
            }
        }
        kept.sort();
        (
            FakeIndex {
                partitions,
                requests: Mutex::new(0),
            },
            kept,
        )
    }

    fn requests(k: usize, order: Order, after: Option<&str>) -> Vec<PageRequest> {
        (0..k)
            .map(|p| request(&format!("p{p}"), order, after))
            .collect()
    }

    #[tokio::test]
    async fn walking_pages_yields_the_merged_order_without_gap_or_duplicate() {
        for (k, order, drop_every) in [
            (1, Order::Desc, 0),
            (4, Order::Desc, 0),
            (4, Order::Asc, 3),
            (7, Order::Asc, 0),
            (3, Order::Desc, 2),
        ] {
            let (fake, mut expected) = index(500, k, 42 + k as u64, drop_every);
            if order == Order::Desc {
                expected.reverse();
            }
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let out = read_merged(&fake, requests(k, order, after.as_deref()), 0, 37)
                    .await
                    .unwrap();
                seen.extend(out.items.iter().map(|(sk, _)| sk.to_string()));
                if !out.has_more {
                    break;
                }
                assert_eq!(out.items.len(), 37, "only the last page is short");
                after = out.items.last().map(|(sk, _)| sk.to_string());
            }
            assert_eq!(seen, expected, "k={k} {order:?} drop_every={drop_every}");
        }
    }

    #[tokio::test]
    async fn skipping_pages_yields_the_same_pages_as_continuing() {
        let (fake, _) = index(300, 4, 9, 5);
        let first = read_merged(&fake, requests(4, Order::Desc, None), 0, 40)
            .await
            .unwrap();
        let after = first.items.last().unwrap().0.to_string();
        let second = read_merged(&fake, requests(4, Order::Desc, Some(&after)), 0, 40)
            .await
            .unwrap();
        let skipped = read_merged(&fake, requests(4, Order::Desc, None), 40, 40)
            .await
            .unwrap();
        assert_eq!(second.items, skipped.items);
        assert!(skipped.has_more);
    }

    #[tokio::test]
    async fn the_last_page_knows_it_is_last() {
        let (fake, all) = index(100, 1, 5, 0);
        let out = read_merged(&fake, requests(1, Order::Asc, None), 0, 100)
            .await
            .unwrap();
        assert_eq!(out.items.len(), 100);
        assert!(!out.has_more);
        let out = read_merged(&fake, requests(1, Order::Asc, None), 0, 99)
            .await
            .unwrap();
        assert!(out.has_more);
        assert_eq!(out.items.last().unwrap().0.as_str(), all[98]);
        let out = read_merged(&fake, requests(1, Order::Asc, None), 100, 10)
            .await
            .unwrap();
        assert!(out.items.is_empty() && !out.has_more);
        let none = read_merged(&fake, Vec::new(), 0, 10).await.unwrap();
        assert!(none.items.is_empty() && !none.has_more);
    }

    #[tokio::test]
    async fn a_first_page_reads_about_its_size_however_large_the_partitions() {
        // 1 stream: the page plus one look-ahead item.
        let (fake, _) = index(20_000, 1, 1, 0);
        let out = read_merged(&fake, requests(1, Order::Desc, None), 0, 50)
            .await
            .unwrap();
        assert_eq!((out.items.len(), out.stats.items_read), (50, 51));
        assert_eq!(out.stats.requests, 1);
        // 4 streams over random shards: on average well within 1.3 items read per item
        // returned, and never more than 2 extra items per stream.
        let mut total_read = 0;
        let runs = 50;
        for seed in 1..=runs {
            let (fake, _) = index(20_000, 4, seed, 0);
            let out = read_merged(&fake, requests(4, Order::Desc, None), 0, 50)
                .await
                .unwrap();
            assert_eq!(out.items.len(), 50);
            assert!(
                out.stats.items_read <= 50 + 2 * 4,
                "{}",
                out.stats.items_read
            );
            total_read += out.stats.items_read;
        }
        let ratio = total_read as f64 / (50.0 * runs as f64);
        assert!(
            ratio <= 1.2,
            "average items read per item returned: {ratio}"
        );
    }

    #[tokio::test]
    async fn with_skewed_streams_the_extra_reads_stay_within_the_cold_streams_first_read() {
        // Partition p0 holds 95% of the events. The merge cannot know it up front, so the
        // cold p1 may read its whole first share; everything after adapts.
        let mut partitions: HashMap<String, Vec<(String, bool)>> = HashMap::new();
        for i in 0..4000 {
            let p = if i % 20 == 0 { "p1" } else { "p0" };
            let sk = format!("2024-01-01T00:00:00.000Z#e{i:05}");
            partitions.entry(p.to_owned()).or_default().push((sk, true));
        }
        let fake = FakeIndex {
            partitions,
            requests: Mutex::new(0),
        };
        let out = read_merged(&fake, requests(2, Order::Desc, None), 0, 200)
            .await
            .unwrap();
        assert_eq!(out.items.len(), 200);
        let cold_first_read = u64::from(first_limit(201, 2));
        assert!(
            out.stats.items_read <= 200 + cold_first_read + 2 * 2,
            "{:?}",
            out.stats
        );
        assert!(out.stats.requests <= 10, "{:?}", out.stats);
        assert_eq!(*fake.requests.lock().unwrap(), out.stats.requests);
    }

    /// Walks a listing as the query does: each answer within a fresh budget of `budget`
    /// items, resuming after the stop position (with its skip) or after the last item.
    /// Returns the items after `skip`, and the most items one answer read.
    async fn walk_within(
        fake: &FakeIndex,
        k: usize,
        order: Order,
        skip: u64,
        take: u32,
        budget: u64,
        stop_at: Option<Instant>,
    ) -> (Vec<String>, u64, usize) {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut skip = skip;
        let mut worst = 0;
        let mut answers = 0;
        loop {
            answers += 1;
            assert!(answers < 10_000, "the walk makes no progress");
            let out = read_merged_within(
                fake,
                requests(k, order, after.as_deref()),
                skip,
                take,
                &ReadBudget::new(budget, stop_at),
            )
            .await
            .unwrap();
            worst = worst.max(out.stats.items_read);
            assert!(out.items.len() <= take as usize);
            seen.extend(out.items.iter().map(|(sk, _)| sk.to_string()));
            if !out.has_more {
                assert!(out.stop.is_none());
                break;
            }
            match &out.stop {
                Some(stop) => {
                    assert!(
                        out.items.len() < take as usize,
                        "a stopped page is not full"
                    );
                    let resume = stop.after.as_ref().unwrap().to_string();
                    if let (Some(last), Some(prev)) = (out.items.last(), after.as_ref()) {
                        // The resume position is at or after the last item returned.
                        let last = last.0.to_string();
                        match order {
                            Order::Desc => assert!(resume <= last && &resume < prev),
                            Order::Asc => assert!(resume >= last && &resume > prev),
                        }
                    }
                    after = Some(resume);
                    skip = stop.skip;
                }
                None => {
                    assert_eq!(
                        out.items.len(),
                        take as usize,
                        "only stopped pages are short"
                    );
                    after = out.items.last().map(|(sk, _)| sk.to_string());
                    skip = 0;
                }
            }
        }
        (seen, worst, answers)
    }

    #[tokio::test]
    async fn walking_within_a_small_budget_yields_every_item_once_in_order() {
        for (k, order, drop_every, budget, take) in [
            (1, Order::Desc, 0, 20, 37),
            (1, Order::Asc, 2, 20, 7),
            (4, Order::Desc, 0, 25, 37),
            (4, Order::Asc, 3, 16, 10),
            // Most items filtered out: most answers are partial, many empty.
            (4, Order::Desc, 1, 40, 5),
            (3, Order::Asc, 1, 12, 50),
            (7, Order::Desc, 2, 14, 9),
        ] {
            // `drop_every = 1` keeps nothing: use a sparse filter instead.
            let (fake, mut expected) = if drop_every == 1 {
                sparse_index(600, k, 77, 40)
            } else {
                index(500, k, 42 + k as u64, drop_every)
            };
            if order == Order::Desc {
                expected.reverse();
            }
            let (seen, worst, answers) = walk_within(&fake, k, order, 0, take, budget, None).await;
            assert_eq!(
                seen, expected,
                "k={k} {order:?} drop={drop_every} budget={budget}"
            );
            assert!(worst <= budget, "an answer read {worst} > {budget}");
            assert!(answers > 1);
        }
    }

    #[tokio::test]
    async fn a_skip_cut_short_by_the_budget_goes_on_from_where_it_stopped() {
        let (fake, mut expected) = sparse_index(800, 4, 5, 10);
        expected.reverse();
        for skip in [0u64, 3, 17, 40] {
            // One page after `skip` matches, reached within budgets too small for the skip.
            let (seen, worst, _) = walk_within(&fake, 4, Order::Desc, skip, 6, 30, None).await;
            let want: Vec<String> = expected.iter().skip(skip as usize).cloned().collect();
            assert_eq!(seen, want, "skip={skip}");
            assert!(worst <= 30);
        }
    }

    #[tokio::test]
    async fn past_its_time_a_merge_still_reads_each_stream_once_and_makes_progress() {
        let (fake, mut expected) = index(300, 4, 3, 0);
        expected.reverse();
        let past = Instant::now();
        let out = read_merged_within(
            &fake,
            requests(4, Order::Desc, None),
            0,
            50,
            &ReadBudget::new(2000, Some(past)),
        )
        .await
        .unwrap();
        assert_eq!(out.stats.requests, 4, "one read per stream, none after");
        let stop = out.stop.clone().expect("stopped by time");
        assert!(stop.after.is_some());
        // Everything returned is the head of the listing.
        let got: Vec<String> = out.items.iter().map(|(sk, _)| sk.to_string()).collect();
        assert_eq!(got, expected[..got.len()]);
        // And walking on past the time still yields everything.
        let (seen, _, _) = walk_within(&fake, 4, Order::Desc, 0, 50, 2000, Some(past)).await;
        assert_eq!(seen, expected);
    }

    /// `n` events over `k` partitions, of which only every `keep_every`-th passes the filter.
    fn sparse_index(n: usize, k: usize, seed: u64, keep_every: usize) -> (FakeIndex, Vec<String>) {
        let (mut fake, _) = index(n, k, seed, 0);
        let mut kept = Vec::new();
        for items in fake.partitions.values_mut() {
            for (sk, keep) in items.iter_mut() {
                let i: usize = sk.rsplit('e').next().unwrap().parse().unwrap();
                *keep = i.is_multiple_of(keep_every);
                if *keep {
                    kept.push(sk.clone());
                }
            }
        }
        kept.sort();
        (fake, kept)
    }
}
