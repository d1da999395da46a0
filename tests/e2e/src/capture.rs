//! The log of a test binary: one global subscriber with the production
//! filter, JSON lines with spans, written into memory.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::format::FmtSpan;

/// The most verbose `RUST_LOG` an operator could set, with directives that try
/// to lift the caps `log_filter` puts on transport crates (by exact name, by
/// a more specific module, by a span).
const RUST_LOG: &str = "trace,aws_smithy_runtime=trace,aws_smithy_runtime::client::orchestrator=trace,\
aws_sigv4=trace,aws_sdk_cognitoidentityprovider=trace,hyper=trace,hyper_util::client=trace,h2=trace,\
[invoke]=trace,[{AccessToken}]=trace";

struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The log of this test binary: one global subscriber, installed once.
pub fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(signout::app::log_filter(RUST_LOG))
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::FULL)
            .with_target(true)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        buf
    })
}
