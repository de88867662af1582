//! Third-party servers and daemons a test starts itself (a private `redis-server`, a
//! sentinel, rsyslogd, snmptrapd, …): free loopback ports for them, and a handle that
//! kills the process when the test ends, pass or fail.

use std::process::Child;

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free TCP port")
        .port()
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port")
        .port()
}

/// A child process that is killed and reaped on drop.
pub struct ChildProcess(pub Child);

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
