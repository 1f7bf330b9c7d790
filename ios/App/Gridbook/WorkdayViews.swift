// The manager's day in SwiftUI, zh-CN first with English beside it: Today (sign-in, overdue
// tickets, appointments whose time passed, the plan building by building, reminders, arrears, the
// grid in numbers), the appointment (book, move, confirm, cancel, customer absent), first-ask
// tickets overdue first, and the end-of-day summary.
import CoreLocation
import GridbookFFI
import GridbookKit
import SwiftUI

/// The last known position for the sign-in, asking for permission once; nil without one (a
/// sign-in in a basement is recorded with the time alone).
@MainActor
final class SignInPlace: NSObject, ObservableObject {
    private let manager = CLLocationManager()
    func ask() { if manager.authorizationStatus == .notDetermined { manager.requestWhenInUseAuthorization() } }
    var last: (latE6: Int64, lonE6: Int64)? {
        guard let c = manager.location?.coordinate else { return nil }
        return (Int64(c.latitude * 1_000_000), Int64(c.longitude * 1_000_000))
    }
}

func punctualityText(_ p: Punctuality) -> String {
    switch p {
    case .onTime: return "准时到达 On time"
    case .early(let m): return "早到 \(m) 分钟 \(m) min early"
    case .late(let m): return "迟到 \(m) 分钟 \(m) min late"
    }
}

func statusText(_ s: AppointmentStatus) -> String {
    switch s {
    case .booked: return "已预约 Booked"
    case .confirmed: return "已确认 Confirmed"
    case .rescheduled: return "已改约 Rescheduled"
    case .cancelled: return "已取消 Cancelled"
    case .done: return "已完成 Done"
    }
}

private func door(_ s: PlanStop) -> String {
    let parts = [s.unit, s.floor.map { "\($0)F" } ?? "", s.room].filter { !$0.isEmpty }
    return parts.isEmpty ? s.address : parts.joined(separator: " ")
}

// MARK: Today

struct TodayView: View {
    @StateObject var model: TodayModel
    @StateObject private var place = SignInPlace()
    @EnvironmentObject var sync: SyncCenter
    @EnvironmentObject var graph: AppGraph

    var body: some View {
        List {
            Section {
                Text(sync.status.summary)
                if let s = model.signedIn {
                    Text("已签到 Signed in \(time(s.atMs))" + (s.latE6 != nil ? " · 已记录位置 place recorded" : "")).foregroundStyle(.green)
                } else {
                    Button("签到 Sign in") { Task { await model.signIn(latE6: place.last?.latE6, lonE6: place.last?.lonE6) } }
                }
                if let session = graph.session {
                    NavigationLink("日工作总结 Day summary") { DaySummaryView(model: DaySummaryModel(env: graph.env(session))) }
                }
            }
            ProblemBanner(problem: model.problem)
            if !model.overdueTickets.isEmpty, let session = graph.session {
                NavigationLink {
                    TicketsView(model: TicketsModel(env: graph.env(session)))
                } label: {
                    Text("\(model.overdueTickets.count) 张工单已超期 tickets overdue").foregroundStyle(.red)
                }
            }
            if !model.late.isEmpty {
                Section("已过约定时间未上门 Appointments missed") {
                    ForEach(model.late, id: \.id) { a in
                        if let session = graph.session, let h = try? graph.store.household(householdId: a.householdId) {
                            NavigationLink {
                                AppointmentView(model: AppointmentModel(env: graph.env(session), household: h, appointment: a, late: true))
                            } label: { Text("\(time(a.agreedAtMs)) · 请提前告知客户并重新约定时间 Tell the customer and agree a new time") }
                        }
                    }
                }
            }
            if model.buildings.isEmpty { Section("今日计划 Today's plan") { Text("暂无 None") } }
            ForEach(model.buildings) { b in
                Section(b.building.isEmpty ? "平房及其他门牌 Other doors" : b.building) {
                    ForEach(b.stops, id: \.householdId) { stop in StopView(stop: stop, model: model) }
                }
            }
            Section("提醒 Reminders") {
                if model.reminders.isEmpty { Text("暂无提醒 No reminders") }
                ForEach(Array(model.reminders.enumerated()), id: \.offset) { _, e in
                    Text("\(e.stop.customerName) · \(door(e.stop))")
                }
            }
            Section("待收欠费 Arrears \(Money.yuan(model.remainingFen))") {
                ForEach(model.arrears, id: \.account.id) { line in ArrearsRow(line: line) }
            }
            if let s = model.summary {
                Section("网格概况 The grid") {
                    LabeledContent("户数 Households", value: "\(s.households)")
                    LabeledContent("楼宇/平房/商铺 Premises", value: "\(s.buildings) / \(s.bungalows) / \(s.shops)")
                    LabeledContent("潜在客户 Prospects", value: "\(s.prospects)")
                }
            }
        }
        .navigationTitle("今日 Today \(model.date)")
        .refreshable { await model.refresh(); await sync.syncNow() }
        .task { place.ask(); await model.refresh() }
    }
}

/// One door of the plan with its appointments, follow-ups and arrears.
private struct StopView: View {
    let stop: PlanStop
    @ObservedObject var model: TodayModel
    @EnvironmentObject var graph: AppGraph

    var body: some View {
        VStack(alignment: .leading) {
            Text("\(stop.customerName) · \(door(stop))").font(.headline)
            ForEach(Array(stop.items.enumerated()), id: \.offset) { _, item in
                switch item {
                case .appointmentItem(let a):
                    if let session = graph.session, let h = try? graph.store.household(householdId: a.householdId) {
                        NavigationLink {
                            VisitView(model: VisitModel(env: graph.env(session), household: h, appointment: a))
                        } label: { Text("预约 \(time(a.agreedAtMs)) · \(statusText(a.status))") }
                        NavigationLink("改约 Move") { AppointmentView(model: AppointmentModel(env: graph.env(session), household: h, appointment: a)) }
                            .font(.caption)
                    }
                case .followUpItem(let v):
                    Text("跟进 Follow up: \(v.followUp) · \(v.followUpDue)").font(.callout)
                case .arrearsItem(let line):
                    if let session = graph.session, line.remainingFen > 0 {
                        NavigationLink {
                            CollectionView(model: CollectionModel(env: graph.env(session), line: line))
                        } label: { Text("欠费待收 Arrears \(Money.yuan(line.remainingFen))") }
                    }
                case .reminderItem(let reminder):
                    // 预警: the core's label (zh-CN with English), the date or service, closed with an outcome
                    HStack {
                        Text("\(reminderLabel(kind: reminder.kind)) · \([reminder.date, reminder.serviceNumber].filter { !$0.isEmpty }.joined(separator: " · "))")
                            .font(.callout)
                        Spacer()
                        Menu("处理 Close") {
                            ForEach(ReminderOutcomeLabels.all, id: \.0) { outcome, label in
                                Button(label) { Task { await model.closeReminder(key: reminder.key, outcome: outcome) } }
                            }
                        }
                    }
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

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            if let a = model.appointment { Text("约定 Agreed \(time(a.agreedAtMs)) · \(statusText(a.status))") }
            if let v = model.absentVisit {
                Text("已记录客户不在家，请在 \(v.followUpDue) 前联系客户重新预约 Customer absent recorded").foregroundStyle(.green)
                Button("返回 Back") { dismiss() }
            } else {
                TextField("日期 Date YYYY-MM-DD", text: $model.date)
                TextField("时间 Time HH:mm", text: $model.time)
                if model.appointment == nil {
                    PurposePicker(purpose: $model.purpose)
                }
                TextField("备注 Note (the customer's wish, why it moved or was cancelled)", text: $model.note)
                Button(model.appointment == nil ? "预约 Book" : "改约到此时间 Move to this time") { Task { await model.save() } }
                if let s = model.saved { Text("已保存 Saved \(time(s.agreedAtMs)) · \(statusText(s.status))").foregroundStyle(.green) }
                if let a = model.appointment, a.status != .done, a.status != .cancelled {
                    Button("客户已确认 Customer confirmed") { Task { await model.confirm() } }
                    Button("取消预约 Cancel", role: .destructive) { Task { await model.cancel() } }
                    Section("上门时客户不在家 Customer not in") {
                        TextField("跟进日期 Follow up by YYYY-MM-DD", text: $followUpDue)
                        Button("记录客户不在家 Record customer absent") { Task { await model.customerAbsent(followUpDue: followUpDue) } }
                    }
                }
            }
        }
        .navigationTitle("预约 Appointment · \(model.household.customerName)")
    }
}

// MARK: Tickets

struct TicketsView: View {
    @StateObject var model: TicketsModel
    @State private var kind = TicketKind.complaint
    @State private var text = ""
    @State private var promised = ""

    var body: some View {
        List {
            ProblemBanner(problem: model.problem)
            if model.overdueCount > 0 { Text("\(model.overdueCount) 张工单已超期 tickets overdue").foregroundStyle(.red) }
            if model.householdId != nil {
                Section("受理客户诉求 Take a request or complaint") {
                    Picker("类型 Kind", selection: $kind) {
                        Text("需求 Request").tag(TicketKind.request)
                        Text("投诉 Complaint").tag(TicketKind.complaint)
                        Text("咨询 Question").tag(TicketKind.question)
                    }
                    TextField("客户诉求 What the customer asks", text: $text)
                    TextField("承诺回复时限 Reply by YYYY-MM-DD", text: $promised)
                    Button("受理（我负责） Take it (I own it)") { Task { await model.take(kind: kind, text: text, promisedReplyBy: promised); text = "" } }
                }
            }
            if model.lines.isEmpty { Text("暂无 None") }
            ForEach(model.lines) { line in TicketRow(line: line, model: model) }
        }
        .navigationTitle("首问工单 Tickets")
        .task { await model.refresh() }
    }
}

private struct TicketRow: View {
    let line: TicketLine
    @ObservedObject var model: TicketsModel
    @State private var to = ""
    @State private var reply = ""
    @State private var confirmed = false

    var body: some View {
        let t = line.ticket
        VStack(alignment: .leading) {
            Text("承诺 \(t.promisedReplyBy) 前回复 Reply by \(t.promisedReplyBy)" + (line.overdue ? " · 已超期 Overdue" : ""))
                .foregroundStyle(line.overdue ? .red : .primary).font(.headline)
            Text(t.text)
            if !t.escalatedTo.isEmpty { Text("已上报给 Escalated to \(t.escalatedTo)").font(.caption) }
            switch t.status {
            case .open, .escalated:
                TextField("上报给 Escalate to", text: $to)
                Button("上报 Escalate") { Task { await model.escalate(t.id, to: to) } }
                TextField("答复内容 Reply given", text: $reply)
                Button("记录答复 Record the reply") { Task { await model.reply(t.id, reply: reply) } }
            case .replied:
                Text("已答复 Replied: \(t.reply)").font(.caption)
                Toggle("客户确认已解决 The customer confirms", isOn: $confirmed)
                Button("闭环 Close") { Task { await model.close(t.id, confirmedByCustomer: confirmed) } }.disabled(!confirmed)
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
            ProblemBanner(problem: model.problem)
            if let s = model.submitted ?? model.preview {
                Section("今日数据 Today in numbers") {
                    LabeledContent("签到时间 Signed in", value: time(s.signedInAtMs))
                    LabeledContent("走访 Visits", value: "\(s.visits)")
                    LabeledContent("预约 Appointments", value: "完成 kept \(s.appointmentsKept) · 准时 on time \(s.appointmentsOnTime) · 未上门 missed \(s.appointmentsMissed)")
                    LabeledContent("档案 Archives", value: "新建 created \(s.householdsCreated) · 更新 updated \(s.householdsUpdated)")
                    LabeledContent("收款 Collected", value: "\(Money.yuan(s.collectedFen)) · \(s.receipts)")
                    LabeledContent("欠费通知 Notices", value: "\(s.notices)")
                    LabeledContent("未到期承诺 Open promises", value: "\(s.openPromises)")
                    LabeledContent("未答复工单 Open tickets", value: "\(s.openTickets)")
                }
            }
            TextField("明日计划与问题 Tomorrow's plan and problems", text: $model.note, axis: .vertical)
            Button("提交日工作总结 Submit") { Task { await model.submit() } }
            if let s = model.submitted { Text("已提交 Submitted \(time(s.madeAtMs))，同步后营业部可见 the back office sees it after the sync").foregroundStyle(.green) }
        }
        .navigationTitle("日工作总结 Day summary \(model.date)")
        .task { await model.refresh() }
    }
}

/// The outcomes a reminder is closed with, zh-CN with English.
enum ReminderOutcomeLabels {
    static let all: [(ReminderResolution, String)] = [
        (.contacted, "已联系 Contacted"), (.renewed, "已续约 Renewed"), (.paid, "已缴费 Paid"),
        (.retained, "已挽留 Retained"), (.greeted, "已送祝福 Greeted"), (.declined, "客户拒绝 Declined"),
        (.unreachable, "联系不上 Unreachable"), (.notNeeded, "无需处理 Not needed"),
    ]
}
