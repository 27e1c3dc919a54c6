//! Generated logs recorded through the ledger, for property tests.

use chrono::{DateTime, Duration, Utc};
use passerelle::generate::{generate, GenerateConfig};
use passerelle_events::{Keyring, Ledger, MemoryStore, StoredEvent, Submission};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// A generated log, recorded through the ledger; contacts are backdated by up
/// to `backdate_days` with probability `late`.
pub fn recorded_log(seed: u64, stakeholders: usize, events: usize, late: f64) -> Vec<StoredEvent> {
    let mut buf = Vec::new();
    generate(
        &GenerateConfig {
            stakeholders,
            events,
            seed,
            ..GenerateConfig::default()
        },
        &mut buf,
    )
    .expect("generate");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x1a7e);
    let subs: Vec<Submission> = String::from_utf8(buf)
        .expect("utf-8")
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("json");
            if v["type"] == "OutreachContactLogged" && rng.random_bool(late) {
                let at = DateTime::parse_from_rfc3339(v["occurred_at"].as_str().unwrap())
                    .map(|t| t.with_timezone(&Utc))
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(
                            v["occurred_at"].as_str().unwrap(),
                            "%Y-%m-%d",
                        )
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc())
                    })
                    .expect("occurred_at");
                let back = at - Duration::days(rng.random_range(1..120));
                v["occurred_at"] = Value::String(back.to_rfc3339());
            }
            Submission::from_wire(&v).expect("generated events are valid")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ledger = Ledger::open(
            Keyring::with_new_key(MemoryStore::new())
                .await
                .expect("keys"),
        )
        .await
        .unwrap();
        ledger
            .record(subs, "test")
            .await
            .expect("recorded")
            .into_iter()
            .map(|r| r.event)
            .collect()
    })
}
