// The manager's day for the SwiftUI app, the twins of core-logic's TodayModel, AppointmentModel,
// TicketsModel and DaySummaryModel: sign-in (签到), the plan of every grid grouped by building with
// its reminders section, the receipt book to check before going out, appointments
// booked/moved/confirmed/cancelled and the customer absent, first-ask tickets overdue first, and
// the day's summary submitted for the back office. The rules are the core's; every action runs once.
import Foundation
import GridbookFFI

/// The phone's local date, YYYY-MM-DD.
func localDate(_ date: Date = Date()) -> String {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian)
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: date)
}

/// UTC ms of a local date (YYYY-MM-DD) and time (HH:mm) at `zoneOffsetMin`; nil if either does not parse.
public func localToUtcMs(date: String, time: String, zoneOffsetMin: Int32) -> Int64? {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian)
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(secondsFromGMT: Int(zoneOffsetMin) * 60)
    f.dateFormat = "yyyy-MM-dd HH:mm"
    guard let d = f.date(from: "\(date.trimmingCharacters(in: .whitespaces)) \(time.trimmingCharacters(in: .whitespaces))") else { return nil }
    return Int64(d.timeIntervalSince1970 * 1000)
}

/// The local date and time (HH:mm) of `ms` at `zoneOffsetMin`.
public func utcMsToLocal(_ ms: Int64, zoneOffsetMin: Int32) -> (date: String, time: String) {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian)
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(secondsFromGMT: Int(zoneOffsetMin) * 60)
    f.dateFormat = "yyyy-MM-dd|HH:mm"
    let parts = f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)).split(separator: "|")
    return (String(parts[0]), String(parts[1]))
}

/// The sections of a door's to-do list.
public enum PlanSection { case appointment, followUp, arrears, reminder }

public extension PlanItem {
    /// Exhaustive on purpose: a new kind of plan entry stops this compiling until Today knows
    /// where to list it.
    var section: PlanSection {
        switch self {
        case .appointmentItem: return .appointment
        case .followUpItem: return .followUp
        case .arrearsItem: return .arrears
        case .reminderItem: return .reminder
        }
    }
}

/// One building's doors in walking order; `building` is empty for doors outside any building.
public struct BuildingStops: Identifiable {
    public let gridId: String
    public let building: String
    public let stops: [PlanStop]
    public var id: String { gridId + "/" + building }
}

/// A plan item with its door.
public struct PlanEntry {
    public let stop: PlanStop
    public let item: PlanItem
}

@MainActor
public final class TodayModel: ObservableObject {
    @Published public private(set) var date = ""
    /// The manager's first sign-in today, if any.
    @Published public private(set) var signedIn: SignIn?
    /// 日工作计划: the doors of the day in walking order, grouped by building, grid after grid.
    @Published public private(set) var buildings: [BuildingStops] = []
    /// Appointments whose time passed with no visit: tell the customer, agree a new time.
    @Published public private(set) var late: [Appointment] = []
    /// The plan's reminder entries.
    @Published public private(set) var reminders: [PlanEntry] = []
    /// First-ask tickets past their promised reply date.
    @Published public private(set) var overdueTickets: [Ticket] = []
    @Published public private(set) var arrears: [ArrearsLine] = []
    /// Receipt numbers left in the book: checked before going out.
    @Published public private(set) var receiptBook: ReceiptBook?
    @Published public private(set) var summaries: [GridSummary] = []
    @Published public private(set) var problem: Problem?
    public let env: Env
    /// The write count the screen last showed.
    private var seen: Int?
    public init(env: Env) { self.env = env }

    public var remainingFen: Int64 { arrears.reduce(0) { $0 + $1.remainingFen } }

    public func refresh() async {
        seen = env.changes.version
        let store = env.store, grids = env.session.grids, me = env.session.managerId
        let today = localDate()
        let zone = Int64(env.zoneOffsetMin), now = env.nowMs
        date = today
        do {
            let plans = try await io { try grids.map { try store.dayPlan(gridId: $0, date: today, zoneOffsetMin: zone) } }
            var groups: [BuildingStops] = []
            for plan in plans {
                for stop in plan.stops {
                    if let last = groups.last, last.gridId == plan.gridId, last.building == stop.premisesName {
                        groups[groups.count - 1] = BuildingStops(gridId: plan.gridId, building: last.building, stops: last.stops + [stop])
                    } else {
                        groups.append(BuildingStops(gridId: plan.gridId, building: stop.premisesName, stops: [stop]))
                    }
                }
            }
            buildings = groups
            reminders = plans.flatMap { $0.stops }.flatMap { s in s.items.filter { $0.section == .reminder }.map { PlanEntry(stop: s, item: $0) } }
            signedIn = try await io { try grids.flatMap { try store.signInsOn(gridId: $0, date: today, zoneOffsetMin: zone) } }
                .filter { $0.managerId == me }.min { $0.atMs < $1.atMs }
            late = try await io { try grids.flatMap { try store.lateAppointments(gridId: $0, nowMs: now) } }
            overdueTickets = try await io { try grids.flatMap { try store.overdueTickets(gridId: $0, today: today) } }
            arrears = try await io { try grids.flatMap { try store.gridArrears(gridId: $0) } }
            summaries = try await io { try grids.map { try store.gridSummary(gridId: $0) } }
            receiptBook = ReceiptBook(left: try await io { try store.receiptNumbersLeft() })
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    /// Reads again if the phone wrote something since (a visit, a receipt); the screen calls it when shown.
    public func refreshIfChanged() async {
        if seen != env.changes.version { await refresh() }
    }

    /// 签到 now, with where the phone was (`positionOf`: a fix, or no fix within 30 s), in the first grid.
    public func signIn(position: Position) async {
        let store = env.store
        let place = position.coordinates
        let s = SignIn(gridId: env.session.grid, managerId: env.session.managerId, atMs: env.nowMs,
                       zoneOffsetMin: Int64(env.zoneOffsetMin), latE6: place?.latE6, lonE6: place?.lonE6,
                       location: position)
        do {
            _ = try await io { try store.signIn(signIn: s) }
            env.wrote()
            await refresh()
        } catch { problem = Problem.of(error) }
    }

    /// 预警处理: closes a reminder of today with its outcome, in the grid of its door.
    public func closeReminder(key: String, householdId: String, outcome: ReminderResolution, note: String = "") async {
        let store = env.store
        let grid = buildings.first { b in b.stops.contains { $0.householdId == householdId } }?.gridId ?? env.session.grid
        let (me, day, zone) = (env.session.managerId, localDate(), Int64(env.zoneOffsetMin))
        do {
            _ = try await io {
                try store.closeReminder(gridId: grid, date: day, key: key, outcome: outcome, note: note, managerId: me, zoneOffsetMin: zone)
            }
            env.wrote()
            await refresh()
        } catch { problem = Problem.of(error) }
    }
}

/// 预约: book, or open one to move, confirm, cancel, or record the customer absent.
@MainActor
public final class AppointmentModel: ObservableObject {
    /// The note of a time moved because the manager runs late (the customer is told first).
    public static let lateNote = "已提前告知客户将迟到，重新约定时间"
    @Published public var date: String
    @Published public var time: String
    @Published public var purpose: VisitPurpose
    @Published public var note: String
    @Published public private(set) var appointment: Appointment?
    @Published public private(set) var saved: Appointment?
    @Published public private(set) var absentVisit: Visit?
    @Published public private(set) var saving = false
    @Published public private(set) var problem: Problem?
    public let household: Household
    public let env: Env

    public init(env: Env, household: Household, appointment: Appointment? = nil, late: Bool = false) {
        self.env = env
        self.household = household
        self.appointment = appointment
        if let a = appointment {
            let local = utcMsToLocal(a.agreedAtMs, zoneOffsetMin: Int32(a.zoneOffsetMin))
            date = local.date; time = local.time; purpose = a.purpose; note = late ? Self.lateNote : a.note
        } else {
            date = localDate(); time = ""; purpose = .survey; note = ""
        }
    }

    /// Books the new appointment, or moves the existing one to the form's time. A second tap
    /// with nothing changed since books nothing more.
    public func save() async {
        let zone = env.zoneOffsetMin, store = env.store
        if let s = saved, let at = localToUtcMs(date: date, time: time, zoneOffsetMin: zone), s.agreedAtMs == at, s.note == note { return }
        guard let at = localToUtcMs(date: date, time: time, zoneOffsetMin: zone) else {
            problem = Problem(kind: .invalid, detail: "give the date as YYYY-MM-DD and the time as HH:mm", field: "agreed_at_ms")
            return
        }
        let n = note
        if let a = appointment {
            await settle { try store.rescheduleAppointment(appointmentId: a.id, agreedAtMs: at, zoneOffsetMin: Int64(zone), note: n) }
        } else {
            let new = Appointment(gridId: household.gridId, householdId: household.id, managerId: env.session.managerId, agreedAtMs: at,
                                  zoneOffsetMin: Int64(zone), purpose: purpose, status: .booked, note: n)
            await settle { try store.bookAppointment(appointment: new) }
        }
    }

    public func confirm() async {
        guard let id = appointment?.id else { return }
        let store = env.store
        await settle { try store.confirmAppointment(appointmentId: id) }
    }

    /// Cancels with the reason typed in the note.
    public func cancel() async {
        guard let id = appointment?.id else { return }
        let store = env.store, reason = note
        await settle { try store.cancelAppointment(appointmentId: id, reason: reason) }
    }

    /// At the door and the customer is not in: the arrival now, with a follow-up due to re-book.
    public func customerAbsent(followUpDue: String) async {
        guard let a = appointment, absentVisit == nil, !saving else { return }
        saving = true
        defer { saving = false }
        let store = env.store
        let v = Visit(gridId: a.gridId, householdId: a.householdId, arrivedAtMs: env.nowMs, zoneOffsetMin: Int64(env.zoneOffsetMin),
                      purpose: a.purpose, managerId: env.session.managerId)
        do {
            let kept = try await io { try store.recordCustomerAbsent(appointmentId: a.id, visit: v, followUpDue: followUpDue) }
            saved = kept.appointment; absentVisit = kept.visit; problem = nil
            env.wrote()
        } catch { problem = Problem.of(error) }
    }

    private func settle(_ work: @escaping () throws -> Appointment) async {
        guard !saving else { return }
        saving = true
        defer { saving = false }
        do {
            let a = try await io(work)
            saved = a; appointment = a; problem = nil
            env.wrote()
        } catch { problem = Problem.of(error) }
    }
}

/// A ticket in the list; `overdue` when its promised reply date passed with no reply.
public struct TicketLine: Identifiable {
    public let ticket: Ticket
    public let overdue: Bool
    public var id: String { ticket.id }
}

/// 首问负责制: the grid's tickets not yet closed — overdue first, then open, then awaiting the
/// customer's confirmation — and the actions on them.
@MainActor
public final class TicketsModel: ObservableObject {
    @Published public private(set) var lines: [TicketLine] = []
    @Published public private(set) var problem: Problem?
    /// Set when opened from a visit: new tickets are taken for this household.
    public let householdId: String?
    @Published public private(set) var taking = false
    public let env: Env
    public init(env: Env, householdId: String? = nil) { self.env = env; self.householdId = householdId }

    public var overdueCount: Int { lines.filter(\.overdue).count }

    public func refresh() async {
        let store = env.store, grids = env.session.grids, today = localDate()
        do {
            let overdue = try await io { try grids.flatMap { try store.overdueTickets(gridId: $0, today: today) } }
            let open = try await io { try grids.flatMap { try store.openTickets(gridId: $0) } }
            let replied = try await io { try grids.flatMap { try store.repliedTickets(gridId: $0) } }
            let late = Set(overdue.map(\.id))
            lines = overdue.map { TicketLine(ticket: $0, overdue: true) }
                + open.filter { !late.contains($0.id) }.map { TicketLine(ticket: $0, overdue: false) }
                + replied.map { TicketLine(ticket: $0, overdue: false) }
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    /// Takes a request, complaint or question at the door: the manager owns it from now.
    /// Takes it once: a second tap while the first is saved takes nothing more.
    public func take(kind: TicketKind, text: String, promisedReplyBy: String) async {
        guard !taking else { return }
        taking = true
        defer { taking = false }
        let store = env.store
        let t = Ticket(gridId: env.session.grid, householdId: householdId ?? "", ownerManagerId: env.session.managerId,
                       takenAtMs: env.nowMs, channel: .inPerson, kind: kind, text: text, promisedReplyBy: promisedReplyBy, status: .open)
        await act { try store.openTicket(ticket: t) }
    }

    public func escalate(_ id: String, to: String) async {
        let store = env.store
        await act { try store.escalateTicket(ticketId: id, to: to) }
    }

    public func reply(_ id: String, reply: String) async {
        let store = env.store
        await act { try store.replyTicket(ticketId: id, reply: reply) }
    }

    /// Closes the loop only with the customer's confirmation; the core refuses otherwise.
    public func close(_ id: String, confirmedByCustomer: Bool) async {
        let store = env.store, now = env.nowMs
        await act { try store.closeTicket(ticketId: id, confirmedByCustomer: confirmedByCustomer, closedAtMs: now) }
    }

    private func act(_ work: @escaping () throws -> Ticket) async {
        do {
            _ = try await io(work)
            env.wrote()
            await refresh()
        } catch { problem = Problem.of(error) }
    }
}

/// 日工作总结: the day in numbers, the manager's note, and the submission for the back office.
@MainActor
public final class DaySummaryModel: ObservableObject {
    @Published public private(set) var date = ""
    @Published public private(set) var preview: DaySummary?
    @Published public private(set) var submitted: DaySummary?
    @Published public var note = ""
    /// The grid summed up (a manager of several grids submits one summary each).
    @Published public var grid: String
    @Published public private(set) var problem: Problem?
    public let env: Env
    public init(env: Env) { self.env = env; grid = env.session.grid }

    public func refresh() async {
        let store = env.store, grid = grid, today = localDate(), zone = Int64(env.zoneOffsetMin)
        date = today
        do {
            preview = try await io { try store.daySummary(gridId: grid, date: today, zoneOffsetMin: zone) }
            submitted = try await io { try store.daySummaries(gridId: grid, date: today) }.first
            if note.isEmpty { note = submitted?.note ?? "" }
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    public func submit() async {
        let store = env.store, grid = grid, me = env.session.managerId
        let day = date.isEmpty ? localDate() : date, zone = Int64(env.zoneOffsetMin), n = note
        do {
            let s = try await io { try store.submitDaySummary(gridId: grid, managerId: me, date: day, zoneOffsetMin: zone, note: n) }
            submitted = s; preview = s; problem = nil
            env.wrote()
        } catch { problem = Problem.of(error) }
    }
}
