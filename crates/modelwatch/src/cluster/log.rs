//! [`IngestLog`]: the cluster's ingest log on NATS JetStream. One stream, one subject per
//! partition (`<prefix>.<partition>`), the partition of an input being a fixed hash of its
//! model's name. The partition count is fixed when the stream is made and recorded in
//! PostgreSQL; every node must agree on it.
//!
//! A request's inputs are published as one message per partition they fall in (in the
//! common case, one model per request: one message), each with a `Nats-Msg-Id` derived from
//! the request, so that a publish retried after a lost acknowledgement is stored once.
//! The messages of a request spanning several partitions are its *parts*: they carry the
//! request and its attempt, and are processed only once the request is committed whole
//! (`spanning.rs`). A message carries the inputs' wire forms (one a line, as the store keeps
//! them), the time the accepting node received them, and who asked.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use modelwatch_engine::{Input, Timestamp};
use modelwatch_store::pg::RequestAttempt;

/// The header carrying the receive time (nanoseconds since the epoch).
const RECEIVED_AT: &str = "Modelwatch-Received-At";
/// The header carrying the name of the token that asked, when a person's request did.
const ACTOR: &str = "Modelwatch-Actor";
/// The header naming the request a part belongs to, when the request spans partitions.
const REQUEST: &str = "Modelwatch-Request";
/// The header carrying the attempt of that request the part was published under.
const ATTEMPT: &str = "Modelwatch-Attempt";

/// How long JetStream remembers message ids to drop a retried publish (NATS's default is
/// two minutes; a retry may come later than that after a long outage).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How the log is laid out and reached.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// The NATS server(s): `nats://host:port`.
    pub url: String,
    /// The stream's name.
    pub stream: String,
    /// Partitions: fixed at the stream's creation.
    pub partitions: u32,
    /// The stream's replicas (1, or 3 or 5 on a NATS cluster).
    pub replicas: usize,
}

/// Why the log could not take or give messages.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// NATS could not be reached.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server (any password in its URL replaced by `***`).
        url: String,
        /// Why.
        message: String,
    },
    /// JetStream refused or failed a step.
    #[error("{action} failed on the JetStream stream {stream}: {message}")]
    JetStream {
        /// The stream.
        stream: String,
        /// The step.
        action: &'static str,
        /// JetStream's message.
        message: String,
    },
    /// A message is larger than the server takes.
    #[error(
        "the inputs of partition {partition} take {bytes} bytes, more than the {limit} bytes \
         a NATS message may hold (max_payload); nothing was published: send smaller batches"
    )]
    TooLarge {
        /// The partition.
        partition: u32,
        /// The message's size.
        bytes: usize,
        /// The server's limit.
        limit: usize,
    },
    /// The commit record of a request spanning partitions could not be read or written.
    #[error("cannot record whether the request is committed (PostgreSQL): {0}")]
    Decision(String),
    /// Every attempt at a request spanning partitions was abandoned by a partition that
    /// waited too long for it to be committed: none of its inputs is processed.
    #[error(
        "the request spans partitions and was abandoned {attempts} times by a partition that \
         waited too long for it to be committed; none of its inputs is stored: retry"
    )]
    Abandoned {
        /// Attempts made.
        attempts: u32,
    },
    /// An input could not be written in its wire form.
    #[error("cannot encode an input for the log: {0}")]
    Encode(serde_json::Error),
    /// A message in the log is not what modelwatch writes.
    #[error("message {seq} of partition {partition} is unreadable: {message}")]
    Corrupt {
        /// The partition.
        partition: u32,
        /// Its stream sequence.
        seq: u64,
        /// What is wrong.
        message: String,
    },
}

/// A message read back from a partition.
#[derive(Debug)]
pub struct LogMessage {
    /// Its stream sequence.
    pub seq: u64,
    /// The inputs, in order.
    pub inputs: Vec<Input>,
    /// When the accepting node received them.
    pub received_at: Timestamp,
    /// Who asked, when a person's request did.
    pub actor: Option<String>,
    /// The request and attempt it is a part of, when its request spans partitions.
    pub spanning: Option<RequestAttempt>,
}

/// A request's inputs of one partition, encoded for the log.
#[derive(Clone, Debug)]
pub struct Part {
    /// The partition.
    pub partition: u32,
    /// The inputs' wire forms, one a line.
    pub body: bytes::Bytes,
}

/// The connected log.
#[derive(Clone, Debug)]
pub struct IngestLog {
    client: async_nats::Client,
    /// Whether the connection is up, as the client's events say.
    connected: tokio::sync::watch::Receiver<bool>,
    context: jetstream::Context,
    options: LogOptions,
}

impl IngestLog {
    /// Connects and makes the stream if it is not there.
    ///
    /// # Errors
    ///
    /// [`LogError::Connect`] or [`LogError::JetStream`].
    pub async fn connect(options: LogOptions) -> Result<IngestLog, LogError> {
        let (up, connected) = tokio::sync::watch::channel(true);
        let up = std::sync::Arc::new(up);
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            // Back soon after NATS is: 100 ms more per attempt, at most 1 s apart.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100 * u64::try_from(attempts).unwrap_or(10).min(10))
            })
            .name("modelwatch")
            .event_callback(move |event| {
                let up = up.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("Connected to NATS again.");
                            up.send_replace(true);
                        }
                        async_nats::Event::Disconnected => {
                            tracing::warn!("NATS is disconnected: ingest answers 503.");
                            up.send_replace(false);
                        }
                        _ => {}
                    }
                }
            })
            .connect(options.url.as_str())
            .await
            .map_err(|error| LogError::Connect {
                url: modelwatch_store::pg::redact(&options.url),
                message: error.to_string(),
            })?;
        let context = jetstream::new(client.clone());
        let log = IngestLog {
            client,
            connected,
            context,
            options,
        };
        log.context
            .get_or_create_stream(stream::Config {
                name: log.options.stream.clone(),
                description: Some(format!(
                    "modelwatch ingest log, {} partitions",
                    log.options.partitions
                )),
                subjects: vec![format!("{}.*", log.subject_prefix())],
                storage: stream::StorageType::File,
                num_replicas: log.options.replicas.max(1),
                duplicate_window: DUPLICATE_WINDOW,
                ..stream::Config::default()
            })
            .await
            .map_err(|error| log.jetstream("making the stream", error))?;
        Ok(log)
    }

    fn jetstream(&self, action: &'static str, error: impl std::fmt::Display) -> LogError {
        LogError::JetStream {
            stream: self.options.stream.clone(),
            action,
            message: error.to_string(),
        }
    }

    fn subject_prefix(&self) -> String {
        format!("modelwatch.{}", self.options.stream.to_ascii_lowercase())
    }

    fn subject(&self, partition: u32) -> String {
        format!("{}.{partition}", self.subject_prefix())
    }

    /// How the log is laid out.
    pub fn options(&self) -> &LogOptions {
        &self.options
    }

    /// Follows whether the connection to NATS is up.
    pub fn connected(&self) -> tokio::sync::watch::Receiver<bool> {
        self.connected.clone()
    }

    /// The partition of `model`.
    pub fn partition_of(&self, model: &str) -> u32 {
        partition_of(model, self.options.partitions)
    }

    /// Splits `inputs` by partition (in order of first appearance) and encodes each part.
    ///
    /// # Errors
    ///
    /// [`LogError::Encode`], or [`LogError::TooLarge`] when a part exceeds what the server
    /// takes.
    pub fn parts(&self, inputs: Vec<Input>) -> Result<Vec<Part>, LogError> {
        let mut split: Vec<(u32, Vec<Input>)> = Vec::new();
        for input in inputs {
            let partition = self.partition_of(input_model(&input));
            match split.iter_mut().find(|(p, _)| *p == partition) {
                Some((_, part)) => part.push(input),
                None => split.push((partition, vec![input])),
            }
        }
        let limit = self.client.server_info().max_payload;
        let mut parts = Vec::with_capacity(split.len());
        for (partition, part) in split {
            let text = modelwatch_store::encode_inputs(&part).map_err(LogError::Encode)?;
            if limit > 0 && text.len() > limit {
                return Err(LogError::TooLarge {
                    partition,
                    bytes: text.len(),
                    limit,
                });
            }
            parts.push(Part {
                partition,
                body: text.into(),
            });
        }
        Ok(parts)
    }

    /// Publishes `parts` and returns, once JetStream acknowledged every one, each part's
    /// partition and stream sequence (a part stored before, by an earlier publish with the
    /// same id, gives the sequence it was stored at). Message ids are `<request>.<partition>`,
    /// or `<request>.<attempt>.<partition>` for the parts of a request spanning partitions.
    ///
    /// # Errors
    ///
    /// [`LogError::JetStream`] when a publish failed or went unacknowledged. The messages
    /// acknowledged before stay in the log: a single-partition request is one message, and
    /// the parts of a spanning one are processed only once it is committed.
    pub async fn publish(
        &self,
        request: &str,
        spanning: Option<&RequestAttempt>,
        parts: &[Part],
        received_at: Timestamp,
        actor: Option<&str>,
    ) -> Result<Vec<(u32, u64)>, LogError> {
        let mut acks = Vec::with_capacity(parts.len());
        for part in parts {
            let mut headers = HeaderMap::new();
            headers.insert(RECEIVED_AT, received_at.as_nanos().to_string().as_str());
            if let Some(actor) = actor {
                headers.insert(ACTOR, actor);
            }
            let id = match spanning {
                Some(spanning) => {
                    headers.insert(REQUEST, spanning.request.as_str());
                    headers.insert(ATTEMPT, spanning.attempt.to_string().as_str());
                    format!("{request}.{}.{}", spanning.attempt, part.partition)
                }
                None => format!("{request}.{}", part.partition),
            };
            let message = jetstream::message::PublishMessage::build()
                .payload(part.body.clone())
                .headers(headers)
                .message_id(id);
            let ack = self
                .context
                .send_publish(self.subject(part.partition), message)
                .await
                .map_err(|error| self.jetstream("publishing", error))?;
            acks.push((part.partition, ack));
        }
        let mut stored = Vec::with_capacity(acks.len());
        for (partition, ack) in acks {
            let ack = ack
                .await
                .map_err(|error| self.jetstream("awaiting an acknowledgement", error))?;
            stored.push((partition, ack.sequence));
        }
        Ok(stored)
    }

    /// The messages of `partition` after stream sequence `after`, in order, for as long as
    /// the returned stream is read (an ordered consumer: recreated by the client after a
    /// gap or a reconnection, starting where it left off).
    ///
    /// # Errors
    ///
    /// [`LogError::JetStream`] when the consumer cannot be made.
    pub async fn read(
        &self,
        partition: u32,
        after: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<LogMessage, LogError>> + use<>, LogError>
    {
        let stream = self
            .context
            .get_stream(&self.options.stream)
            .await
            .map_err(|error| self.jetstream("finding the stream", error))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.subject(partition),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ..consumer::pull::OrderedConfig::default()
            })
            .await
            .map_err(|error| self.jetstream("making a partition's consumer", error))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|error| self.jetstream("reading a partition", error))?;
        let stream_name = self.options.stream.clone();
        Ok(messages.map(move |message| {
            let message = message.map_err(|error| LogError::JetStream {
                stream: stream_name.clone(),
                action: "reading a partition",
                message: error.to_string(),
            })?;
            decode(partition, &message)
        }))
    }
}

fn decode(partition: u32, message: &jetstream::Message) -> Result<LogMessage, LogError> {
    let info = message.info().map_err(|error| LogError::Corrupt {
        partition,
        seq: 0,
        message: format!("no JetStream metadata: {error}"),
    })?;
    let seq = info.stream_sequence;
    let corrupt = |message: String| LogError::Corrupt {
        partition,
        seq,
        message,
    };
    let header = |name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(name))
            .map(|value| value.as_str().to_string())
    };
    let received_at = header(RECEIVED_AT)
        .and_then(|text| text.parse::<i64>().ok())
        .map(Timestamp::from_nanos)
        .ok_or_else(|| corrupt(format!("no {RECEIVED_AT} header")))?;
    let text = std::str::from_utf8(&message.payload)
        .map_err(|error| corrupt(format!("not UTF-8: {error}")))?;
    let inputs = modelwatch_store::decode_inputs(text).map_err(corrupt)?;
    let spanning = match header(REQUEST) {
        None => None,
        Some(request) => {
            let attempt = header(ATTEMPT)
                .and_then(|text| text.parse::<u32>().ok())
                .ok_or_else(|| corrupt(format!("{REQUEST} without a numeric {ATTEMPT}")))?;
            Some(RequestAttempt { request, attempt })
        }
    };
    Ok(LogMessage {
        seq,
        inputs,
        received_at,
        actor: header(ACTOR),
        spanning,
    })
}

/// The model an input is about: what decides its partition.
pub fn input_model(input: &Input) -> &str {
    match input {
        Input::Event(event) => &event.model.name,
        Input::Prediction(prediction) => &prediction.model.name,
        Input::Label(label) => &label.model,
        Input::JobFinished(job) => &job.model,
        Input::RetrainRequest(request) => &request.model,
        Input::Reference(reference) => &reference.model,
    }
}

/// The partition of `model` among `partitions`: FNV-1a of its name, the same on every node
/// and every build.
pub fn partition_of(model: &str, partitions: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in model.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    u32::try_from(hash % u64::from(partitions.max(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn partitions_are_fixed_and_in_range() {
        // Fixed values: a change here moves every model to another partition.
        assert_eq!(partition_of("fraud", 16), partition_of("fraud", 16));
        assert_eq!(partition_of("", 16), (0xcbf2_9ce4_8422_2325u64 % 16) as u32);
        for name in ["a", "fraud", "churn", "ranker-v2"] {
            assert!(partition_of(name, 7) < 7);
        }
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(partition_of("anything", 0), 0);
    }
}
