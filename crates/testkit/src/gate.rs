//! A TCP forwarder that can be closed and reopened, to take a real dependency (Postgres,
//! RabbitMQ) away from one service without stopping the shared server other tests use.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A closable forwarder from `addr()` to a target.
pub struct Gate {
    addr: SocketAddr,
    state: Arc<Mutex<CancellationToken>>,
    open: Arc<std::sync::atomic::AtomicBool>,
    stop: CancellationToken,
}

impl Gate {
    /// Starts forwarding 127.0.0.1:<random> to `target`.
    pub async fn start(target: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let addr = listener.local_addr().expect("gate addr");
        let state = Arc::new(Mutex::new(CancellationToken::new()));
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let stop = CancellationToken::new();
        let (st, op, sp) = (state.clone(), open.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = sp.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                if !op.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let token = st.lock().map(|t| t.clone()).unwrap_or_default();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        () = token.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Gate {
            addr,
            state,
            open,
            stop,
        }
    }

    /// Where clients should connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every open connection and refuses new ones.
    pub fn close(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut t) = self.state.lock() {
            t.cancel();
            *t = CancellationToken::new();
        }
    }

    /// Accepts connections again.
    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.stop.cancel();
        self.close();
    }
}
