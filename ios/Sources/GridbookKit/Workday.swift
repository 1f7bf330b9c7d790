// The manager's day for the SwiftUI app, the twins of core-logic's TodayModel, AppointmentModel,
// TicketsModel and DaySummaryModel: sign-in (签到), the plan grouped by building with its reminders
// section, appointments booked/moved/confirmed/cancelled and the customer absent, first-ask tickets
// overdue first, and the day's summary submitted for the back office. The rules are the core's.
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
    public let building: String
    public let stops: [PlanStop]
    public var id: String { building }
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
    /// 日工作计划: the doors of the day in walking order, grouped by building.
    @Published public private(set) var buildings: [BuildingStops] = []
    /// Appointments whose time passed with no visit: tell the customer, agree a new time.
    @Published public private(set) var late: [Appointment] = []
    /// The plan's reminder entries (filled by the core's reminders; empty until then).
    @Published public private(set) var reminders: [PlanEntry] = []
    /// First-ask tickets past their promised reply date.
    @Published public private(set) var overdueTickets: [Ticket] = []
    @Published public private(set) var arrears: [ArrearsLine] = []
    @Published public private(set) var summary: GridSummary?
    @Published public private(set) var problem: Problem?
    let env: Env
    public init(env: Env) { self.env = env }

    public var remainingFen: Int64 { arrears.reduce(0) { $0 + $1.remainingFen } }

    public func refresh() async {
        let store = env.store, grid = env.session.grid, me = env.session.managerId
        let today = localDate()
        let zone = Int64(env.zoneOffsetMin), now = env.nowMs
        date = today
        do {
            let plan = try await io { try store.dayPlan(gridId: grid, date: today, zoneOffsetMin: zone) }
            var groups: [BuildingStops] = []
            for stop in plan.stops {
                if let last = groups.last, last.building == stop.premisesName {
                    groups[groups.count - 1] = BuildingStops(building: last.building, stops: last.stops + [stop])
                } else {
                    groups.append(BuildingStops(building: stop.premisesName, stops: [stop]))
                }
            }
            buildings = groups
            reminders = plan.stops.flatMap { s in s.items.filter { $0.section == .reminder }.map { PlanEntry(stop: s, item: $0) } }
            signedIn = try await io { try store.signInsOn(gridId: grid, date: today, zoneOffsetMin: zone) }.first { $0.managerId == me }
            late = try await io { try store.lateAppointments(gridId: grid, nowMs: now) }
            overdueTickets = try await io { try store.overdueTickets(gridId: grid, today: today) }
            arrears = try await io { try store.gridArrears(gridId: grid) }
            summary = try await io { try store.gridSummary(gridId: grid) }
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    /// 签到 now, with the place when the phone has a fix (micro-degrees).
    public func signIn(latE6: Int64?, lonE6: Int64?) async {
        let store = env.store
        let s = SignIn(gridId: env.session.grid, managerId: env.session.managerId, atMs: env.nowMs,
                       zoneOffsetMin: Int64(env.zoneOffsetMin), latE6: latE6, lonE6: lonE6)
        do {
            _ = try await io { try store.signIn(signIn: s) }
            env.sync.refresh()
            await refresh()
        } catch { problem = Problem.of(error) }
    }

    /// 预警处理: closes a reminder of today with its outcome; it leaves the list and syncs.
    public func closeReminder(key: String, outcome: ReminderResolution, note: String = "") async {
        let store = env.store
        let (grid, me, day, zone) = (env.session.grid, env.session.managerId, localDate(), Int64(env.zoneOffsetMin))
        do {
            _ = try await io {
                try store.closeReminder(gridId: grid, date: day, key: key, outcome: outcome, note: note, managerId: me, zoneOffsetMin: zone)
            }
            env.sync.refresh()
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
    @Published public private(set) var problem: Problem?
    public let household: Household
    let env: Env

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

    /// Books the new appointment, or moves the existing one to the form's time.
    public func save() async {
        let zone = env.zoneOffsetMin, store = env.store
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
        guard let a = appointment else { return }
        let store = env.store
        let v = Visit(gridId: a.gridId, householdId: a.householdId, arrivedAtMs: env.nowMs, zoneOffsetMin: Int64(env.zoneOffsetMin),
                      purpose: a.purpose, managerId: env.session.managerId)
        do {
            let kept = try await io { try store.recordCustomerAbsent(appointmentId: a.id, visit: v, followUpDue: followUpDue) }
            saved = kept.appointment; absentVisit = kept.visit; problem = nil
            env.sync.refresh()
        } catch { problem = Problem.of(error) }
    }

    private func settle(_ work: @escaping () throws -> Appointment) async {
        do {
            let a = try await io(work)
            saved = a; appointment = a; problem = nil
            env.sync.refresh()
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
    let env: Env
    public init(env: Env, householdId: String? = nil) { self.env = env; self.householdId = householdId }

    public var overdueCount: Int { lines.filter(\.overdue).count }

    public func refresh() async {
        let store = env.store, grid = env.session.grid, today = localDate()
        do {
            let overdue = try await io { try store.overdueTickets(gridId: grid, today: today) }
            let open = try await io { try store.openTickets(gridId: grid) }
            let replied = try await io { try store.repliedTickets(gridId: grid) }
            let late = Set(overdue.map(\.id))
            lines = overdue.map { TicketLine(ticket: $0, overdue: true) }
                + open.filter { !late.contains($0.id) }.map { TicketLine(ticket: $0, overdue: false) }
                + replied.map { TicketLine(ticket: $0, overdue: false) }
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    /// Takes a request, complaint or question at the door: the manager owns it from now.
    public func take(kind: TicketKind, text: String, promisedReplyBy: String) async {
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
            env.sync.refresh()
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
    @Published public private(set) var problem: Problem?
    let env: Env
    public init(env: Env) { self.env = env }

    public func refresh() async {
        let store = env.store, grid = env.session.grid, today = localDate(), zone = Int64(env.zoneOffsetMin)
        date = today
        do {
            preview = try await io { try store.daySummary(gridId: grid, date: today, zoneOffsetMin: zone) }
            submitted = try await io { try store.daySummaries(gridId: grid, date: today) }.first
            if note.isEmpty { note = submitted?.note ?? "" }
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    public func submit() async {
        let store = env.store, grid = env.session.grid, me = env.session.managerId
        let day = date.isEmpty ? localDate() : date, zone = Int64(env.zoneOffsetMin), n = note
        do {
            let s = try await io { try store.submitDaySummary(gridId: grid, managerId: me, date: day, zoneOffsetMin: zone, note: n) }
            submitted = s; preview = s; problem = nil
            env.sync.refresh()
        } catch { problem = Problem.of(error) }
    }
}
