// The manager's day in SwiftUI, words from Localizable.strings: Today (sign-in with the current
// position, the receipt book, overdue tickets, appointments whose time passed, the plan of every
// grid building by building, reminders, arrears, the grids in numbers), the appointment (book,
// move, confirm, cancel, customer absent — with date and time pickers), first-ask tickets overdue
// first (one action a row), and the end-of-day summary. Today reads again after a visit or a
// collection saved elsewhere (LocalChanges).
import CoreLocation
import GridbookFFI
import GridbookKit
import SwiftUI

func punctualityText(_ p: Punctuality) -> String {
    switch p {
    case .onTime: return L("punctuality.on_time")
    case .early(let m): return L("punctuality.early", Int(m))
    case .late(let m): return L("punctuality.late", Int(m))
    }
}

func statusText(_ s: AppointmentStatus) -> String {
    switch s {
    case .booked: return L("appointment.booked")
    case .confirmed: return L("appointment.confirmed")
    case .rescheduled: return L("appointment.rescheduled")
    case .cancelled: return L("appointment.cancelled")
    case .done: return L("appointment.done")
    }
}

private func door(_ s: PlanStop) -> String {
    let parts = [s.unit, s.floor.map { "\($0)F" } ?? "", s.room].filter { !$0.isEmpty }
    return parts.isEmpty ? s.address : parts.joined(separator: " ")
}

// MARK: Today

struct TodayView: View {
    @StateObject var model: TodayModel
    @StateObject private var place = PlaceFinder()
    @EnvironmentObject var sync: SyncCenter
    @State private var signingIn = false

    var body: some View {
        List {
            Section {
                Text(syncSummary(sync.status))
                if let s = model.signedIn {
                    Text(L("signed_in_at", time(s.atMs), s.latE6 != nil ? L("signed_in_with_place") : L("signed_in_no_place"))).foregroundStyle(.green)
                } else {
                    Button(L("sign_in")) {
                        signingIn = true
                        Task {
                            let position = positionOf(await place.fix(), nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                            await model.signIn(position: position)
                            signingIn = false
                        }
                    }.disabled(signingIn)
                }
                if let book = model.receiptBook {
                    Text(book.empty ? L("receipt_book.empty") : book.low ? L("receipt_book.low", Int(book.left)) : L("receipt_book.left", Int(book.left)))
                        .foregroundStyle(book.low ? Color.red : Color.secondary)
                }
                NavigationLink(L("day_summary.title"), value: Route.daySummary)
            }
            ProblemBanner(problem: model.problem)
            if !model.overdueTickets.isEmpty {
                NavigationLink(value: Route.tickets(householdId: nil)) {
                    Text(L("tickets.overdue_banner", model.overdueTickets.count)).foregroundStyle(.red)
                }
            }
            if !model.late.isEmpty {
                Section(L("today.late")) {
                    ForEach(model.late, id: \.id) { a in
                        NavigationLink(value: Route.appointment(householdId: a.householdId, appointmentId: a.id, late: true)) {
                            Text("\(time(a.agreedAtMs)) · " + L("late_hint"))
                        }
                    }
                }
            }
            if model.buildings.isEmpty { Section(L("today.plan")) { Text(L("none")) } }
            ForEach(model.buildings) { b in
                Section(b.building.isEmpty ? L("plan.no_building") : b.building) {
                    ForEach(b.stops, id: \.householdId) { stop in StopRows(stop: stop, model: model) }
                }
            }
            Section(L("today.reminders")) {
                if model.reminders.isEmpty { Text(L("reminders.none")) }
                ForEach(Array(model.reminders.enumerated()), id: \.offset) { _, e in
                    NavigationLink("\(e.stop.customerName) · \(door(e.stop))", value: Route.household(id: e.stop.householdId))
                }
            }
            Section(L("today.arrears", Money.yuan(model.remainingFen))) {
                NavigationLink(L("arrears.title"), value: Route.arrears)
            }
            ForEach(model.summaries, id: \.gridId) { s in
                Section(L("today.grid") + (model.summaries.count > 1 ? " \(s.gridId)" : "")) {
                    LabeledContent(L("summary.households"), value: "\(s.households)")
                    LabeledContent(L("summary.premises"), value: "\(s.buildings) / \(s.bungalows) / \(s.shops)")
                    LabeledContent(L("summary.prospects"), value: "\(s.prospects)")
                }
            }
        }
        .navigationTitle(L("today.title", model.date))
        .refreshable { await sync.syncNow(); await model.refresh() }
        .task { await model.refresh() }
        // back from a visit or a collection: read again what it changed
        .onAppear { Task { await model.refreshIfChanged() } }
        .onReceive(model.env.changes.$version) { _ in Task { await model.refreshIfChanged() } }
    }
}

/// One door of the plan: one row per appointment, follow-up, debt and reminder, one action each.
private struct StopRows: View {
    let stop: PlanStop
    @ObservedObject var model: TodayModel

    var body: some View {
        NavigationLink(value: Route.household(id: stop.householdId)) {
            Text("\(stop.customerName) · \(door(stop))").font(.headline)
        }
        ForEach(Array(stop.items.enumerated()), id: \.offset) { _, item in
            switch item {
            case .appointmentItem(let a):
                NavigationLink(value: Route.visit(householdId: a.householdId, appointmentId: a.id)) {
                    Text(L("plan.appointment", time(a.agreedAtMs), statusText(a.status)))
                }
                NavigationLink(L("appointment.change"), value: Route.appointment(householdId: a.householdId, appointmentId: a.id, late: false)).font(.caption)
            case .followUpItem(let v):
                NavigationLink(value: Route.household(id: stop.householdId)) {
                    Text(L("plan.follow_up", v.followUp) + " · " + v.followUpDue).font(.callout)
                }
            case .arrearsItem(let line):
                if line.remainingFen > 0 {
                    NavigationLink(L("plan.arrears", Money.yuan(line.remainingFen)), value: Route.collect(accountId: line.account.id))
                }
            case .reminderItem(let reminder):
                // 预警: the core's label (zh-CN with English), the date or service, closed with an outcome
                Menu {
                    ForEach(ReminderOutcomeLabels.all, id: \.0) { outcome, key in
                        Button(L(key)) { Task { await model.closeReminder(key: reminder.key, householdId: stop.householdId, outcome: outcome) } }
                    }
                } label: {
                    Text("\(reminderLabel(kind: reminder.kind)) · \([reminder.date, reminder.serviceNumber].filter { !$0.isEmpty }.joined(separator: " · "))")
                        .font(.callout)
                }
            }
        }
    }
}

// MARK: Appointment

struct AppointmentView: View {
    @StateObject var model: AppointmentModel
    @State private var followUpDue = ""
    @Environment(\.dismiss) private var dismiss

    /// The form's date and time as one picker.
    private var when: Binding<Date> {
        Binding(
            get: { localToUtcMs(date: model.date, time: model.time.isEmpty ? "09:00" : model.time, zoneOffsetMin: Int32(TimeZone.current.secondsFromGMT() / 60))
                .map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date() },
            set: { d in
                let f = DateFormatter(); f.locale = Locale(identifier: "en_US_POSIX"); f.dateFormat = "HH:mm"
                model.date = day(d); model.time = f.string(from: d)
            })
    }

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            if let a = model.appointment { Text(L("appointment.now", time(a.agreedAtMs), statusText(a.status))) }
            if let v = model.absentVisit {
                Text(L("appointment.absent_saved", v.followUpDue)).foregroundStyle(.green)
                Button(L("back")) { dismiss() }
            } else {
                DatePicker(L("field.agreed_at_ms"), selection: when)
                if model.appointment == nil { PurposePicker(purpose: $model.purpose) }
                TextField(L("field.note"), text: $model.note)
                Section {
                    Button(model.appointment == nil ? L("appointment.book") : L("appointment.reschedule")) { Task { await model.save() } }.disabled(model.saving)
                    if let s = model.saved { Text(L("appointment.saved", time(s.agreedAtMs), statusText(s.status))).foregroundStyle(.green) }
                }
                if let a = model.appointment, a.status != .done, a.status != .cancelled {
                    Section {
                        Button(L("appointment.confirm")) { Task { await model.confirm() } }
                        Button(L("appointment.cancel"), role: .destructive) { Task { await model.cancel() } }
                    }
                    Section(L("appointment.absent_title")) {
                        DayPicker(label: L("field.follow_up_due"), text: $followUpDue)
                        Button(L("appointment.absent")) { Task { await model.customerAbsent(followUpDue: followUpDue.isEmpty ? day(Date()) : followUpDue) } }
                            .disabled(model.saving)
                    }
                }
            }
        }
        .navigationTitle(model.appointment == nil ? L("appointment.new_title", model.household.customerName) : L("appointment.title", model.household.customerName))
    }
}

// MARK: Tickets

struct TicketsView: View {
    @StateObject var model: TicketsModel
    @State private var kind = TicketKind.complaint
    @State private var text = ""
    @State private var promised = day(Date(timeIntervalSinceNow: 2 * 86_400))

    var body: some View {
        List {
            ProblemBanner(problem: model.problem)
            if model.overdueCount > 0 { Text(L("tickets.overdue_banner", model.overdueCount)).foregroundStyle(.red) }
            if model.householdId != nil {
                Section(L("ticket.take")) {
                    Picker(L("ticket.kind"), selection: $kind) {
                        Text(L("ticket.request")).tag(TicketKind.request)
                        Text(L("ticket.complaint")).tag(TicketKind.complaint)
                        Text(L("ticket.question")).tag(TicketKind.question)
                    }
                    TextField(L("field.text"), text: $text, axis: .vertical)
                    DayPicker(label: L("field.promised_reply_by"), text: $promised)
                    Button(L("ticket.take_button")) { Task { await model.take(kind: kind, text: text, promisedReplyBy: promised); text = "" } }
                        .disabled(model.taking || text.isEmpty)
                }
            }
            if model.lines.isEmpty { Text(L("none")) }
            ForEach(model.lines) { line in TicketSection(line: line, model: model) }
        }
        .navigationTitle(L("tickets.title"))
        .task { await model.refresh() }
    }
}

/// One ticket: its own section, each action in a row of its own (two buttons in one row both fire).
private struct TicketSection: View {
    let line: TicketLine
    @ObservedObject var model: TicketsModel
    @State private var to = ""
    @State private var reply = ""
    @State private var confirmed = false

    var body: some View {
        let t = line.ticket
        Section {
            VStack(alignment: .leading) {
                Text(L("ticket.promised", t.promisedReplyBy) + (line.overdue ? " · " + L("ticket.overdue") : ""))
                    .foregroundStyle(line.overdue ? .red : .primary).font(.headline)
                Text(t.text)
                if !t.escalatedTo.isEmpty { Text(L("ticket.escalated_to", t.escalatedTo)).font(.caption) }
            }
            switch t.status {
            case .open, .escalated:
                TextField(L("field.escalated_to"), text: $to)
                Button(L("ticket.escalate")) { Task { await model.escalate(t.id, to: to) } }.disabled(to.isEmpty)
                TextField(L("field.reply"), text: $reply)
                Button(L("ticket.reply")) { Task { await model.reply(t.id, reply: reply) } }.disabled(reply.isEmpty)
            case .replied:
                Text(L("ticket.reply_given", t.reply)).font(.caption)
                Toggle(L("ticket.customer_confirms"), isOn: $confirmed)
                Button(L("ticket.close")) { Task { await model.close(t.id, confirmedByCustomer: confirmed) } }.disabled(!confirmed)
            case .closed:
                EmptyView()
            }
        }
    }
}

// MARK: Day summary

struct DaySummaryView: View {
    @StateObject var model: DaySummaryModel

    var body: some View {
        Form {
            if model.env.session.grids.count > 1 {
                Picker(L("grid"), selection: $model.grid) { ForEach(model.env.session.grids, id: \.self) { Text($0).tag($0) } }
                    .onChange(of: model.grid) { _ in Task { await model.refresh() } }
            }
            ProblemBanner(problem: model.problem)
            if let s = model.submitted ?? model.preview {
                Section(L("day_summary.numbers")) {
                    LabeledContent(L("day.signed_in"), value: time(s.signedInAtMs))
                    LabeledContent(L("day.visits"), value: "\(s.visits)")
                    LabeledContent(L("day.appointments"), value: L("day.appointments_value", Int(s.appointmentsKept), Int(s.appointmentsOnTime), Int(s.appointmentsMissed)))
                    LabeledContent(L("day.households"), value: L("day.households_value", Int(s.householdsCreated), Int(s.householdsUpdated)))
                    LabeledContent(L("day.collected"), value: L("day.collected_value", Money.yuan(s.collectedFen), Int(s.receipts)))
                    LabeledContent(L("day.notices"), value: "\(s.notices)")
                    LabeledContent(L("day.open_promises"), value: "\(s.openPromises)")
                    LabeledContent(L("day.open_tickets"), value: "\(s.openTickets)")
                }
            }
            TextField(L("field.day_note"), text: $model.note, axis: .vertical)
            Section {
                Button(L("day_summary.submit")) { Task { await model.submit() } }
                if let s = model.submitted { Text(L("day_summary.submitted", time(s.madeAtMs))).foregroundStyle(.green) }
            }
        }
        .navigationTitle(L("day_summary.heading", model.date))
        .task { await model.refresh() }
    }
}

/// The outcomes a reminder is closed with, and their strings' keys.
enum ReminderOutcomeLabels {
    static let all: [(ReminderResolution, String)] = [
        (.contacted, "reminder.contacted"), (.renewed, "reminder.renewed"), (.paid, "reminder.paid"),
        (.retained, "reminder.retained"), (.greeted, "reminder.greeted"), (.declined, "reminder.declined"),
        (.unreachable, "reminder.unreachable"), (.notNeeded, "reminder.not_needed"),
    ]
}
