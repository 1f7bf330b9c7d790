//! First-ask tickets for the apps (首问负责制, issue 7): a request, complaint or question taken on
//! a visit (or by phone, WeChat, at the counter) is owned by whoever took it, with the reply date
//! promised; escalated when outside their authority; replied to; closed only when the customer
//! confirms (闭环). Overdue tickets — promised date passed, no reply — come first on the phone.
//! Each method calls one core method (core/src/field/tickets.rs) and converts.

use crate::error::Result;
use crate::records::Ticket;
use crate::store::{not_found, GridbookStore};

#[uniffi::export]
impl GridbookStore {
    /// Opens a ticket in the name of the manager who took it (`owner_manager_id`), with the reply
    /// date promised (`promised_reply_by`, YYYY-MM-DD). It starts open whatever `status` says.
    /// Returns it with its id.
    pub fn open_ticket(&self, ticket: Ticket) -> Result<Ticket> {
        Ok(self.store()?.open_ticket(ticket)?)
    }

    /// One ticket.
    pub fn ticket(&self, ticket_id: String) -> Result<Ticket> {
        self.store()?.ticket(&ticket_id)?.ok_or(not_found("ticket", ticket_id))
    }

    /// Hands the matter up to someone with the authority (`to`: a supervisor, a department). The
    /// ticket stays its owner's to close.
    pub fn escalate_ticket(&self, ticket_id: String, to: String) -> Result<Ticket> {
        Ok(self.store()?.escalate_ticket(&ticket_id, &to)?)
    }

    /// Records the reply given to the customer; the ticket then waits for their confirmation.
    pub fn reply_ticket(&self, ticket_id: String, reply: String) -> Result<Ticket> {
        Ok(self.store()?.reply_ticket(&ticket_id, &reply)?)
    }

    /// Closes the loop (闭环): only after a reply, and only with `confirmed_by_customer` true — the
    /// customer said the matter is settled. `closed_at_ms` is when, UTC ms.
    pub fn close_ticket(&self, ticket_id: String, confirmed_by_customer: bool, closed_at_ms: i64) -> Result<Ticket> {
        Ok(self.store()?.close_ticket(&ticket_id, confirmed_by_customer, closed_at_ms)?)
    }

    /// The grid's tickets still open or escalated (not replied to), by promised date.
    pub fn open_tickets(&self, grid_id: String) -> Result<Vec<Ticket>> {
        Ok(self.store()?.open_tickets(&grid_id)?)
    }

    /// Tickets whose promised reply date is before `today` (YYYY-MM-DD) with no reply: the
    /// promise is broken. Oldest promise first. The back office sees the same after a sync.
    pub fn overdue_tickets(&self, grid_id: String, today: String) -> Result<Vec<Ticket>> {
        Ok(self.store()?.overdue_tickets(&grid_id, &today)?)
    }

    /// Tickets replied to and waiting for the customer to confirm the closure, oldest first.
    pub fn replied_tickets(&self, grid_id: String) -> Result<Vec<Ticket>> {
        Ok(self.store()?.replied_tickets(&grid_id)?)
    }
}
