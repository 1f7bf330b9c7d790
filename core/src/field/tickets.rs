//! First-ask responsibility (首问负责制, issue 7): whoever first takes a request, complaint or
//! question owns the ticket until it is closed. Open it with a promised reply date, escalate it
//! when outside one's authority (the owner stays the owner), reply, and close the loop (闭环)
//! only when the customer confirms. Tickets past their promised date are overdue.

use rusqlite::params;

use crate::error::{invalid, Result};
use crate::model::{EntityKind, Ticket, TicketStatus};
use crate::store::entity_table::{self, fields_of};
use crate::store::{new_id, record_change, Store};
use crate::sync::wire::OpAction;
use crate::validate;

impl Store {
    /// Opens a ticket in the name of whoever took it (`owner_manager_id`). It starts `open`.
    pub fn open_ticket(&self, mut t: Ticket) -> Result<Ticket> {
        t.status = TicketStatus::Open;
        t.text = t.text.trim().to_string();
        t.household_id = t.household_id.trim().to_string();
        t.escalated_to.clear();
        t.reply.clear();
        t.closed_at_ms = None;
        t.closure_confirmed_by_customer = false;
        validate::ticket(&t)?;
        if t.id.is_empty() {
            t.id = new_id();
        }
        let fields = fields_of(&t)?;
        self.write(|tx, clock| {
            if !t.household_id.is_empty() {
                crate::field::workday::household_in_grid(tx, &t.household_id, &t.grid_id)?;
            }
            record_change(tx, clock, EntityKind::Ticket, &t.id, &t.grid_id, OpAction::Create, fields)
        })?;
        Ok(t)
    }

    pub fn ticket(&self, id: &str) -> Result<Option<Ticket>> {
        Ok(self.read(|c| entity_table::query(c, "id = ?1 AND coalesce(deleted, 0) = 0", [id]))?.into_iter().next())
    }

    fn change_ticket(&self, id: &str, edit: impl FnOnce(&mut Ticket) -> Result<()>) -> Result<Ticket> {
        self.edit_record(id, validate::ticket, |t: &mut Ticket| {
            if t.status == TicketStatus::Closed {
                return invalid("status", "the ticket is closed");
            }
            edit(t)
        })
    }

    /// Hands the matter up to someone with the authority (a supervisor, a department). The ticket
    /// stays the owner's to close.
    pub fn escalate_ticket(&self, id: &str, to: &str) -> Result<Ticket> {
        if to.trim().is_empty() {
            return invalid("escalated_to", "say who the ticket is escalated to");
        }
        self.change_ticket(id, |t| {
            t.status = TicketStatus::Escalated;
            t.escalated_to = to.trim().to_string();
            Ok(())
        })
    }

    /// Records the reply given to the customer.
    pub fn reply_ticket(&self, id: &str, reply: &str) -> Result<Ticket> {
        if reply.trim().is_empty() {
            return invalid("reply", "say what the customer was told");
        }
        self.change_ticket(id, |t| {
            t.status = TicketStatus::Replied;
            t.reply = reply.trim().to_string();
            Ok(())
        })
    }

    /// Closes the loop (闭环): only after a reply, and only when the customer confirms.
    pub fn close_ticket(&self, id: &str, confirmed_by_customer: bool, closed_at_ms: i64) -> Result<Ticket> {
        if !confirmed_by_customer {
            return invalid(
                "closure_confirmed_by_customer",
                "a ticket is closed only when the customer confirms it (闭环)",
            );
        }
        self.change_ticket(id, |t| {
            if t.status != TicketStatus::Replied {
                return invalid("status", "reply to the customer before closing the ticket");
            }
            t.status = TicketStatus::Closed;
            t.closure_confirmed_by_customer = true;
            t.closed_at_ms = Some(closed_at_ms);
            Ok(())
        })
    }

    /// Tickets of the grid still open or escalated (not replied to yet), by promised date.
    pub fn open_tickets(&self, grid_id: &str) -> Result<Vec<Ticket>> {
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND status IN ('open', 'escalated') AND coalesce(deleted, 0) = 0
                 ORDER BY promised_reply_by, taken_at_ms, id",
                [grid_id],
            )
        })
    }

    /// Tickets of the grid replied to and waiting for the customer to confirm the closure (闭环),
    /// oldest first: the loop is not closed until they do.
    pub fn replied_tickets(&self, grid_id: &str) -> Result<Vec<Ticket>> {
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND status = 'replied' AND coalesce(deleted, 0) = 0 ORDER BY taken_at_ms, id",
                [grid_id],
            )
        })
    }

    /// Tickets whose promised reply date (YYYY-MM-DD) is before `today` with no reply yet: the
    /// promise was broken. Oldest promise first.
    pub fn overdue_tickets(&self, grid_id: &str, today: &str) -> Result<Vec<Ticket>> {
        if chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").is_err() {
            return invalid("today", "must be a date written YYYY-MM-DD");
        }
        self.read(|c| {
            entity_table::query(
                c,
                "grid_id = ?1 AND status IN ('open', 'escalated') AND coalesce(deleted, 0) = 0
                 AND promised_reply_by < ?2 ORDER BY promised_reply_by, taken_at_ms, id",
                params![grid_id, today],
            )
        })
    }
}
