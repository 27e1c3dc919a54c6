//! The log as Server-Sent Events (`GET /api/v1/events/stream`), fanned out
//! at a cost to the writer that does not grow with the number of readers.
//!
//! One [`Hub`] per server follows the store with one subscription. It
//! decodes each new event once, opens its personal fields once (the raw log
//! is read by admins and coordinators only, who may see them), formats its
//! SSE message once in log positions and once in its programme's own units,
//! and shares the bytes with every subscriber through a bounded
//! [`broadcast`] ring. An append wakes the hub and the projection
//! follower, never a subscriber: the store's append path does the same work
//! for one subscriber or a thousand.
//!
//! A subscriber starts from a position (`after`, or `Last-Event-ID`, which
//! wins) and reads the store in pages, in its own connection's task, until
//! it reaches what the hub has published; it then joins the ring, reads from
//! the store the few events the hub published meanwhile, and takes the rest
//! from the ring, skipping what it already sent: no gap, no duplicate. A
//! subscriber that falls more than the ring behind (a slow reader) is
//! dropped — its stream ends — rather than buffered without bound; the
//! client resumes with `Last-Event-ID`. Heartbeat comments keep an idle
//! stream alive; every stream ends at shutdown.
//!
//! A token scoped to one programme gets that programme's events only, told
//! in its own units: the k-th event of the programme has `id:` and
//! `position` k, and its `after` and `Last-Event-ID` count the same way, so
//! nothing in its stream moves with another programme's activity.
//!
//! Streams are counted per token and in all ([`Seats`]): past a cap a new
//! one is refused (429 per token, 503 in all, with `Retry-After`), and a
//! stream's seat is freed whenever it ends, whatever ends it.
//!
//! This module reads the store and never writes to it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use passerelle_events::ledger::decode;
use passerelle_events::store::{RawEvent, PAGE};
use passerelle_events::{EventLog, StoreError, StoredEvent};
use passerelle_projections::engine::Engine;
use passerelle_projections::model::Audience;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use warp::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use warp::http::HeaderMap;

use super::routes::raw_events_allowed;
use super::state::{ApiConfig, App};
use crate::auth::Principal;
use crate::http::problem::Problem;
use crate::http::reply::{number, Query};

/// The heartbeat comment.
const HEARTBEAT: &[u8] = b": heartbeat\n\n";
/// Most bytes of messages written to a subscriber at once; the rest waits
/// for the next write.
const CHUNK: usize = 64 * 1024;
/// Seconds a client refused by a cap is asked to wait (`Retry-After`).
const RETRY_AFTER: u64 = 5;

/// One event as every subscriber receives it, formatted once per view.
#[derive(Debug)]
struct Message {
    /// Its log position.
    position: u64,
    /// Its programme.
    programme: String,
    /// Its number among its programme's events, from 1: its position in
    /// the programme's own units.
    ordinal: u64,
    /// The SSE message in log positions.
    log: Bytes,
    /// The SSE message in its programme's own units.
    own: Bytes,
}

/// What the hub has published.
#[derive(Debug, Default)]
struct Published {
    /// The log position of its last message.
    position: u64,
    /// Each programme's events up to it.
    counts: HashMap<String, u64>,
}

/// The fan-out of the log to its subscribers: one per server, in
/// [`Inner`]; [`follow`] feeds it.
pub(crate) struct Hub {
    ring: broadcast::Sender<Arc<Message>>,
    published: watch::Sender<Published>,
    seats: Arc<Seats>,
}

impl Hub {
    /// A hub whose next message is the event after those `engine` has
    /// folded in, with a ring and caps as `config` says.
    pub(crate) fn new(config: &ApiConfig, engine: &Engine) -> Self {
        let position = engine.position();
        let counts = engine
            .model()
            .programmes
            .keys()
            .map(|p| {
                (
                    p.clone(),
                    engine.programme_count(p, position, Audience::Full),
                )
            })
            .collect();
        Self {
            ring: broadcast::channel(config.stream_ring.max(1)).0,
            published: watch::channel(Published { position, counts }).0,
            seats: Arc::new(Seats {
                per_token: config.streams_per_token,
                total: config.streams_total,
                open: Mutex::new(HashMap::new()),
                count: watch::channel(0).0,
            }),
        }
    }

    /// The position of the last message published.
    fn position(&self) -> u64 {
        self.published.borrow().position
    }

    /// The events of `programme` published so far.
    fn count(&self, programme: &str) -> u64 {
        self.published
            .borrow()
            .counts
            .get(programme)
            .copied()
            .unwrap_or(0)
    }

    /// Waits, at most `timeout`, until the hub has published `position`.
    async fn reached(&self, position: u64, timeout: Duration) -> bool {
        let mut published = self.published.subscribe();
        tokio::time::timeout(timeout, published.wait_for(|p| p.position >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// A receiver of the ring and the position of the last message
    /// published before it joined: every later message reaches it (or, if
    /// it falls behind, its lag is reported).
    fn join(&self) -> (broadcast::Receiver<Arc<Message>>, u64) {
        let ring = self.ring.subscribe();
        (ring, self.position())
    }

    /// Marks the event at `position` (of `programme`) published, if it is
    /// after the last one; its ordinal in its programme. A subscriber that
    /// joins the ring after this reads the event from the store.
    fn advance(&self, position: u64, programme: &str) -> u64 {
        let mut ordinal = 0;
        self.published.send_if_modified(|p| {
            let count = match p.counts.get_mut(programme) {
                Some(count) => count,
                None => p.counts.entry(programme.to_owned()).or_default(),
            };
            // Published again after a restart of the follower: counted once.
            let later = position > p.position;
            if later {
                *count += 1;
                p.position = position;
            }
            ordinal = *count;
            later
        });
        ordinal
    }

    /// Whether any subscriber is on the ring.
    fn listened(&self) -> bool {
        self.ring.receiver_count() > 0
    }

    /// Sends `event`, published as the `ordinal`-th of its programme, to the
    /// ring's subscribers.
    fn send(&self, event: &StoredEvent, ordinal: u64) {
        let programme = event.event.programme.as_str();
        let event_type = event.event.event.type_name();
        let mut envelope = event.to_json();
        let log = sse(event.position, event_type, &envelope);
        envelope["position"] = ordinal.into();
        let own = sse(ordinal, event_type, &envelope);
        let message = Message {
            position: event.position,
            programme: programme.to_owned(),
            ordinal,
            log,
            own,
        };
        // An error only says that every subscriber has left since.
        let _ = self.ring.send(Arc::new(message));
    }
}

/// One SSE message: `id:`, `event:` (the type) and `data:` (the envelope,
/// on one line).
fn sse(id: u64, event_type: &str, envelope: &Value) -> Bytes {
    Bytes::from(format!(
        "id: {id}\nevent: {event_type}\ndata: {envelope}\n\n"
    ))
}

/// Publishes one event into the hub; its position. The position moves
/// first; then, if anyone is on the ring, the event is decoded, opened and
/// sent. A subscriber counted then receives it; one that joins later reads
/// the position after it, so the event comes from the store: none misses
/// it, and with no subscriber nothing is decoded.
pub(crate) async fn publish(app: App, raw: RawEvent) -> Result<u64, String> {
    let hub = &app.inner.streams;
    let ordinal = hub.advance(raw.position, &raw.record.programme);
    if !hub.listened() {
        return Ok(raw.position);
    }
    let opened = async { app.opened_fresh(decode(&raw)?).await };
    let event = opened.await.map_err(|e: StoreError| e.to_string())?;
    hub.send(&event, ordinal);
    Ok(event.position)
}

/// The open streams, per token and in all, and their caps.
struct Seats {
    /// Most streams per token.
    per_token: usize,
    /// Most streams in all.
    total: usize,
    /// Open streams by token id.
    open: Mutex<HashMap<String, usize>>,
    /// Open streams in all.
    count: watch::Sender<usize>,
}

impl Seats {
    /// A seat for a new stream of token `token`, or the cap that refuses it.
    fn take(self: &Arc<Self>, token: &str) -> Result<Seat, Problem> {
        let mut open = self.open.lock().expect("seats lock");
        let mine = open.get(token).copied().unwrap_or(0);
        if mine >= self.per_token {
            return Err(Problem::too_many_requests(
                format!(
                    "this token has {mine} event streams open, the most one token may have \
                     (streams_per_token); close one, or retry after {RETRY_AFTER} s"
                ),
                RETRY_AFTER,
            ));
        }
        let all = *self.count.borrow();
        if all >= self.total {
            return Err(Problem::unavailable(format!(
                "the server has {all} event streams open, the most it serves at once \
                 (streams_total); retry after {RETRY_AFTER} s"
            ))
            .retry_after(RETRY_AFTER));
        }
        open.insert(token.to_owned(), mine + 1);
        self.count.send_replace(all + 1);
        Ok(Seat {
            seats: self.clone(),
            token: token.to_owned(),
        })
    }
}

/// One open stream's place under the caps, freed when dropped: when the
/// stream ends, whatever ends it.
struct Seat {
    seats: Arc<Seats>,
    token: String,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self
            .seats
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match open.get_mut(&self.token) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                open.remove(&self.token);
            }
        }
        self.seats.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl App {
    /// The number of event streams open, as it changes.
    pub fn open_streams(&self) -> watch::Receiver<usize> {
        self.inner.streams.seats.count.subscribe()
    }
}

/// Which events a stream carries, and in which units.
#[derive(Debug, Clone)]
enum View {
    /// Every event, in log positions.
    Log,
    /// One programme's events only (a token scoped to it), in its own
    /// units: `told` of them carried so far.
    Programme { name: String, told: u64 },
}

/// Where a stream is: what it carries and how far it has gone.
#[derive(Debug, Clone)]
struct Cursor {
    view: View,
    /// Every event up to this log position has been sent or passed over.
    last: u64,
}

impl Cursor {
    /// Moves past the event at `position` of `programme` (the next one);
    /// its position as the stream tells it, if the stream carries it.
    fn pass(&mut self, position: u64, programme: &str) -> Option<u64> {
        self.last = position;
        match &mut self.view {
            View::Log => Some(position),
            View::Programme { name, told } if name == programme => {
                *told += 1;
                Some(*told)
            }
            View::Programme { .. } => None,
        }
    }

    /// `message`'s bytes for this stream, if it carries the message (the
    /// next one); `Err` with the stream's number for it if the hub numbered
    /// it otherwise.
    fn take(&mut self, message: &Message) -> Result<Option<Bytes>, u64> {
        match self.pass(message.position, &message.programme) {
            None => Ok(None),
            Some(_) if matches!(self.view, View::Log) => Ok(Some(message.log.clone())),
            Some(told) if told == message.ordinal => Ok(Some(message.own.clone())),
            Some(told) => Err(told),
        }
    }
}

/// What a subscriber does next.
enum Step {
    /// Write these messages.
    Send(Bytes),
    /// Nothing to write yet: go on.
    Again,
    /// End the stream.
    End,
}

/// One subscriber: catches up from the store, then follows the ring.
struct Follower {
    app: App,
    cursor: Cursor,
    /// The ring, once joined.
    ring: Option<broadcast::Receiver<Arc<Message>>>,
    /// The position published when the ring was joined: the store is read
    /// up to it.
    joined_at: u64,
    /// The stream ends after what is in hand: it fell behind the ring (or
    /// the ring did not follow on from it).
    ending: bool,
    /// The first message of the next write, taken from the ring, and when.
    held: Option<(Arc<Message>, Instant)>,
}

impl Follower {
    /// The next step. Cancel-safe: what it sends is accounted for only when
    /// it returns.
    async fn step(&mut self) -> Result<Step, StoreError> {
        if self.ending {
            return Ok(Step::End);
        }
        let hub = &self.app.inner.streams;
        if self.ring.is_none() {
            let published = hub.position();
            if self.cursor.last < published {
                return self.catch_up(published).await;
            }
            let (ring, at) = hub.join();
            self.ring = Some(ring);
            self.joined_at = at;
        }
        if self.cursor.last < self.joined_at {
            return self.catch_up(self.joined_at).await;
        }
        self.receive().await
    }

    /// A page of the store's events after the cursor, up to `until`.
    async fn catch_up(&mut self, until: u64) -> Result<Step, StoreError> {
        let page = self.app.inner.store.read(self.cursor.last, PAGE).await?;
        // A copy moves: if this future is dropped, the cursor stays.
        let mut cursor = self.cursor.clone();
        let mut out = BytesMut::new();
        for raw in page.iter().take_while(|r| r.position <= until) {
            if let Some(told) = cursor.pass(raw.position, &raw.record.programme) {
                let event = self.app.opened_fresh(decode(raw)?).await?;
                let mut envelope = event.to_json();
                envelope["position"] = told.into();
                out.extend_from_slice(&sse(told, event.event.event.type_name(), &envelope));
            }
        }
        if cursor.last == self.cursor.last {
            return Err(StoreError::Backend(format!(
                "the store holds no event after {} though {until} was published",
                cursor.last
            )));
        }
        self.cursor = cursor;
        Ok(send(out))
    }

    /// The next messages of the ring: one, and those that follow it within
    /// [`ApiConfig::stream_linger`], up to [`CHUNK`] bytes. A burst of
    /// events thus costs a subscriber one write, not one per event.
    async fn receive(&mut self) -> Result<Step, StoreError> {
        let Some(ring) = self.ring.as_mut() else {
            return Ok(Step::End);
        };
        if self.held.is_none() {
            match ring.recv().await {
                Ok(m) => self.held = Some((m, Instant::now())),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "an event stream fell behind the ring and was ended");
                    return Ok(Step::End);
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(Step::End),
            }
        }
        // Held in `self`: if this future is dropped while it waits, the
        // message stays for the next step.
        if let Some((_, since)) = &self.held {
            tokio::time::sleep_until(*since + self.app.inner.config.stream_linger).await;
        }
        let mut out = BytesMut::new();
        let mut next = self.held.take().map(|(m, _)| m);
        while let Some(message) = next.take() {
            if message.position <= self.cursor.last {
                // Sent from the store before the ring was joined.
            } else if message.position != self.cursor.last + 1 {
                tracing::error!(
                    expected = self.cursor.last + 1,
                    got = message.position,
                    "the ring skipped an event; the stream ends"
                );
                self.ending = true;
            } else {
                match self.cursor.take(&message) {
                    Ok(Some(bytes)) => out.extend_from_slice(&bytes),
                    Ok(None) => {}
                    Err(told) => {
                        tracing::error!(
                            told,
                            ordinal = message.ordinal,
                            "the ring numbered a programme's event otherwise; the stream ends"
                        );
                        self.ending = true;
                    }
                }
            }
            if self.ending || out.len() >= CHUNK {
                break;
            }
            match ring.try_recv() {
                Ok(m) => next = Some(m),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    tracing::info!(missed, "an event stream fell behind the ring and was ended");
                    self.ending = true;
                }
                Err(_) => {}
            }
        }
        Ok(send(out))
    }
}

/// `out` to send, if anything.
fn send(out: BytesMut) -> Step {
    if out.is_empty() {
        Step::Again
    } else {
        Step::Send(out.freeze())
    }
}

/// `GET /api/v1/events/stream`: every event after `after` (or after
/// `Last-Event-ID`, which wins) that the token may read, then each new one,
/// as Server-Sent Events.
pub(super) async fn open(
    app: &App,
    principal: &Principal,
    q: Query,
    headers: &HeaderMap,
) -> Result<warp::reply::Response, Problem> {
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::bad_request("Last-Event-ID must be a log position (a whole number)")
                })
        })
        .transpose()?;
    let (name, after) = match (last_event_id, number(&q, "after")?) {
        (Some(id), _) => ("Last-Event-ID", id),
        (None, Some(after)) => ("after", after),
        (None, None) => ("after", 0),
    };
    raw_events_allowed(principal)?;
    let seat = app.inner.streams.seats.take(&principal.id)?;
    let cursor = match &principal.programme {
        None => log_cursor(app, name, after).await?,
        Some(p) => programme_cursor(app, p, name, after).await?,
    };
    let follower = Follower {
        app: app.clone(),
        cursor,
        ring: None,
        joined_at: 0,
        ending: false,
        held: None,
    };
    let body = body(
        follower,
        seat,
        app.inner.shutdown.subscribe(),
        app.inner.config.heartbeat,
    );
    let mut response = warp::reply::Reply::into_response(warp::reply::stream(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Where a stream of the whole log that starts after log position `after`
/// (given as `name`) begins.
async fn log_cursor(app: &App, name: &str, after: u64) -> Result<Cursor, Problem> {
    let head = app.inner.store.head().await.map_err(Problem::from_store)?;
    if after > head {
        return Err(Problem::bad_request(format!(
            "{name} {after} is beyond the last position of the log, {head}"
        )));
    }
    Ok(Cursor {
        view: View::Log,
        last: after,
    })
}

/// Where a stream of `programme` that starts after its `after`-th event
/// (given as `name`, in the programme's own units) begins.
async fn programme_cursor(
    app: &App,
    programme: &str,
    name: &str,
    after: u64,
) -> Result<Cursor, Problem> {
    let hub = &app.inner.streams;
    let wait = app.inner.config.min_position_timeout;
    if after > hub.count(programme) {
        // The hub may not have published that event yet: count up to the
        // store's head.
        let head = app.inner.store.head().await.map_err(Problem::from_store)?;
        if !hub.reached(head, wait).await {
            return Err(Problem::unavailable(format!(
                "the event stream did not reach the log's head within {} ms",
                wait.as_millis()
            )));
        }
        let count = hub.count(programme);
        if after > count {
            return Err(Problem::bad_request(format!(
                "{name} {after} is beyond the last event of programme {programme:?}, {count} \
                 (a token scoped to a programme counts its events only)"
            )));
        }
    }
    // The projection knows where each of the programme's events is; it may
    // be a little behind the hub.
    let position_of = || {
        app.inner
            .engine
            .read()
            .expect("engine lock")
            .programme_position_of(programme, after, Audience::Full)
    };
    let last = match position_of() {
        Some(p) => p,
        None => {
            app.wait_for(hub.position()).await;
            position_of().ok_or_else(|| {
                Problem::unavailable(format!(
                    "the projection did not reach event {after} of programme {programme:?} \
                     within {} ms",
                    wait.as_millis()
                ))
            })?
        }
    };
    Ok(Cursor {
        view: View::Programme {
            name: programme.to_owned(),
            told: after,
        },
        last,
    })
}

/// The stream's bytes: the follower's messages, with a heartbeat after each
/// `heartbeat` without one; ends at shutdown, when the follower ends, or
/// when the client leaves (the body is dropped, and the seat with it).
fn body(
    follower: Follower,
    seat: Seat,
    shutdown: watch::Receiver<bool>,
    heartbeat: Duration,
) -> SyncBody {
    let stream =
        futures::stream::unfold(Some((follower, seat, shutdown)), move |state| async move {
            let (mut follower, seat, mut shutdown) = state?;
            let beat = tokio::time::sleep(heartbeat);
            tokio::pin!(beat);
            loop {
                let step = tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                    step = follower.step() => step,
                    _ = &mut beat => Ok(Step::Send(Bytes::from_static(HEARTBEAT))),
                };
                match step {
                    Ok(Step::Send(bytes)) => {
                        return Some((Ok(bytes), Some((follower, seat, shutdown))))
                    }
                    Ok(Step::Again) => continue,
                    Ok(Step::End) => return None,
                    Err(e) => {
                        tracing::error!(error = %e, "an event stream ended on a store error");
                        return Some((Err(std::io::Error::other(e.to_string())), None));
                    }
                }
            }
        });
    SyncBody(Mutex::new(stream.boxed()))
}

/// A response body for warp, which requires it to be `Sync`. It is only
/// ever polled through `&mut`, so the mutex is never locked.
struct SyncBody(Mutex<BoxStream<'static, Result<Bytes, std::io::Error>>>);

impl Stream for SyncBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .poll_next_unpin(cx)
    }
}
