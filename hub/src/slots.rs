//! Fair shares of the hub: how many of something (open connections, downloads,
//! uploads) each device may hold at once, and one-time tickets that stand in for a
//! device's token in a URL.

use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// At most `per_device` held at once by each device.
#[derive(Debug)]
pub struct Slots {
    per_device: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    device: String,
}

impl Slots {
    pub fn new(per_device: usize) -> Arc<Slots> {
        Arc::new(Slots {
            per_device,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `device`, unless it holds all its share already.
    pub fn take(self: &Arc<Self>, device: &str) -> Option<Slot> {
        let mut held = lock(&self.held);
        let n = held.entry(device.to_string()).or_default();
        if *n >= self.per_device {
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: self.clone(),
            device: device.to_string(),
        })
    }

    /// How many slots `device` holds.
    pub fn held_by(&self, device: &str) -> usize {
        lock(&self.held).get(device).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = lock(&self.slots.held);
        if let Some(n) = held.get_mut(&self.device) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.device);
            }
        }
    }
}

/// How long a ticket stays good.
pub const TICKET_VALID: Duration = Duration::from_secs(60);
/// How many unused tickets one device may have.
const TICKETS_PER_DEVICE: usize = 8;
/// How many unused tickets the hub keeps in all.
const TICKETS_TOTAL: usize = 100_000;

/// One-time tickets: a device that can make one HTTP call with its token in a header
/// gets a ticket to put in the WebSocket URL instead, so that the token itself never
/// reaches a proxy's access log. Kept in memory (only their hashes), good once and
/// for [`TICKET_VALID`].
#[derive(Debug, Default)]
pub struct Tickets {
    open: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

/// Why no ticket was issued.
#[derive(Debug, PartialEq, Eq)]
pub enum TicketRefusal {
    /// The device has enough unused ones.
    DeviceFull,
    /// The hub has too many unused ones.
    HubFull,
}

impl Tickets {
    /// A new ticket for `device`.
    pub fn issue(&self, device: &str) -> Result<String, TicketRefusal> {
        let mut open = lock(&self.open);
        let now = Instant::now();
        open.retain(|_, (_, expires)| *expires > now);
        if open.values().filter(|(d, _)| d == device).count() >= TICKETS_PER_DEVICE {
            return Err(TicketRefusal::DeviceFull);
        }
        if open.len() >= TICKETS_TOTAL {
            return Err(TicketRefusal::HubFull);
        }
        let bytes: [u8; 32] = rand::rng().random();
        let ticket = format!("ikt_t_{}", hex::encode(bytes));
        open.insert(digest(&ticket), (device.to_string(), now + TICKET_VALID));
        Ok(ticket)
    }

    /// The device a ticket was issued to, once: a used, expired or unknown ticket is
    /// `None`.
    pub fn redeem(&self, ticket: &str) -> Option<String> {
        let (device, expires) = lock(&self.open).remove(&digest(ticket.trim()))?;
        (expires > Instant::now()).then_some(device)
    }
}

fn digest(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_device_and_come_back() {
        let slots = Slots::new(2);
        let a = slots.take("a").unwrap();
        let _b = slots.take("a").unwrap();
        assert!(slots.take("a").is_none());
        assert!(slots.take("b").is_some());
        drop(a);
        assert!(slots.take("a").is_some());
    }

    #[test]
    fn a_ticket_works_once() {
        let tickets = Tickets::default();
        let t = tickets.issue("device-1").unwrap();
        assert_eq!(tickets.redeem("ikt_t_00"), None);
        assert_eq!(tickets.redeem(&t).as_deref(), Some("device-1"));
        assert_eq!(tickets.redeem(&t), None);
        for _ in 0..TICKETS_PER_DEVICE {
            tickets.issue("device-2").unwrap();
        }
        assert_eq!(tickets.issue("device-2"), Err(TicketRefusal::DeviceFull));
    }
}
