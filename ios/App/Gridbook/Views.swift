// The screens of a visit in SwiftUI, words from Localizable.strings (zh-Hans, en): enrolment,
// the routes of a tab's stack (built only when pushed), buildings → households in each grid, the
// household archive (its debts, tap to call), the visit form (arrival taken when it is shown),
// arrears collection with the payment's reference, the arrears list and notice, the customer's
// receipt shared and printed, sync. The signature is taken in a sheet of its own (a pad inside a
// scrolling form fights the scroll), and every form row holds one action.
import GridbookFFI
import GridbookKit
import SwiftUI
import WebKit

struct ProblemBanner: View {
    let problem: Problem?
    var body: some View {
        if let p = problem { Text(problemText(p)).foregroundStyle(.red).font(.callout) }
    }
}

func problemText(_ p: Problem) -> String {
    switch p.kind {
    case .invalid: return L("problem.invalid", fieldLabel(p.field), p.detail)
    case .notFound: return L("problem.not_found")
    case .offline: return L("problem.offline")
    case .needsEnrolment: return L("problem.enrol_again")
    case .refused: return L("problem.refused", p.detail)
    case .interrupted: return L("problem.interrupted")
    case .keyUnavailable: return L("problem.key_unavailable")
    case .upgradeRequired: return L("problem.upgrade_required", p.detail)
    case .locked: return L("problem.locked")
    case .offlineTooLong: return L("problem.offline_too_long")
    case .storeUnreadable: return L("problem.store_unreadable", p.detail)
    case .wiped: return L("problem.wiped", p.detail)
    case .unexpected: return L("problem.unexpected", p.detail)
    }
}

/// The label of a field the core named in a problem, or the field's name.
func fieldLabel(_ field: String?) -> String {
    guard let field else { return "" }
    let key = "field." + field
    let text = L(key)
    return text == key ? field : text
}

func time(_ ms: Int64?) -> String {
    guard let ms else { return "—" }
    let f = DateFormatter(); f.dateFormat = "MM-dd HH:mm"
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// YYYY-MM-DD of a picked date (the phone's calendar day), and back.
func day(_ date: Date) -> String {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian); f.locale = Locale(identifier: "en_US_POSIX"); f.dateFormat = "yyyy-MM-dd"
    return f.string(from: date)
}

func date(_ day: String) -> Date? {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian); f.locale = Locale(identifier: "en_US_POSIX"); f.dateFormat = "yyyy-MM-dd"
    return f.date(from: day)
}

/// A date picker over a YYYY-MM-DD text field of a model ("" = none chosen).
struct DayPicker: View {
    let label: String
    @Binding var text: String
    var body: some View {
        DatePicker(label, selection: Binding(get: { date(text) ?? Date() }, set: { text = day($0) }), displayedComponents: .date)
    }
}

// MARK: Routes

/// Loads what a route names, then shows its screen; nothing is made before the route is pushed.
struct RouteView: View {
    let route: Route
    let env: Env
    @State private var loaded: Loaded?
    @State private var problem: Problem?

    enum Loaded {
        case household(Household), visit(Household, Appointment?), appointment(Household, Appointment?, Bool)
        case line(ArrearsLine), notice(ArrearsLine), new(String?), tickets(String?), daySummary, arrears
    }

    var body: some View {
        Group {
            switch loaded {
            case .household(let h)?: HouseholdView(model: HouseholdModel(env: env, existing: h))
            case .new(let premises)?: HouseholdView(model: HouseholdModel(env: env, premisesId: premises))
            case .visit(let h, let a)?: VisitView(model: VisitModel(env: env, household: h, appointment: a))
            case .appointment(let h, let a, let late)?: AppointmentView(model: AppointmentModel(env: env, household: h, appointment: a, late: late))
            case .line(let line)?: CollectionView(model: CollectionModel(env: env, line: line))
            case .notice(let line)?: NoticeView(model: NoticeModel(env: env, line: line))
            case .tickets(let h)?: TicketsView(model: TicketsModel(env: env, householdId: h))
            case .daySummary?: DaySummaryView(model: DaySummaryModel(env: env))
            case .arrears?: ArrearsView(model: ArrearsModel(env: env))
            case nil:
                if let problem { ProblemBanner(problem: problem) } else { ProgressView() }
            }
        }
        .task { if loaded == nil { await load() } }
    }

    private func load() async {
        let store = env.store, grids = env.session.grids
        func line(_ account: String) async throws -> ArrearsLine {
            let all = try await io { try grids.flatMap { try store.gridArrears(gridId: $0) } }
            guard let l = all.first(where: { $0.account.id == account }) else { throw Problem(kind: .notFound, detail: account) }
            return l
        }
        do {
            switch route {
            case .household(let id): loaded = .household(try await io { try store.household(householdId: id) })
            case .newHousehold(let p): loaded = .new(p)
            case .visit(let id, let a):
                let h = try await io { try store.household(householdId: id) }
                let appointment = try await a.asyncMap { id in try await io { try store.appointment(appointmentId: id) } }
                loaded = .visit(h, appointment)
            case .appointment(let id, let a, let late):
                let h = try await io { try store.household(householdId: id) }
                let appointment = try await a.asyncMap { id in try await io { try store.appointment(appointmentId: id) } }
                loaded = .appointment(h, appointment, late)
            case .collect(let account): loaded = .line(try await line(account))
            case .notice(let account): loaded = .notice(try await line(account))
            case .tickets(let h): loaded = .tickets(h)
            case .daySummary: loaded = .daySummary
            case .arrears: loaded = .arrears
            }
        } catch { problem = Problem.of(error) }
    }
}

extension Optional {
    func asyncMap<U>(_ f: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let w = self else { return nil }
        return try await f(w)
    }
}

// MARK: Enrol

struct EnrolView: View {
    @EnvironmentObject var graph: AppGraph
    @EnvironmentObject var sync: SyncCenter
    @State private var server = "https://"
    @State private var code = ""
    @State private var busy = false

    var body: some View {
        Form {
            Section(L("enrol.title")) {
                Text(L("enrol.hint")).font(.callout)
                // after a remote wipe: the phone was wiped, and what was lost
                ProblemBanner(problem: graph.wipedNotice)
                TextField(L("enrol.server"), text: $server).textInputAutocapitalization(.never).keyboardType(.URL)
                TextField(L("field.code"), text: $code).textInputAutocapitalization(.characters)
                ProblemBanner(problem: sync.problem)
            }
            Section {
                Button(L("enrol.button")) {
                    busy = true
                    Task {
                        if let s = await sync.enrol(serverUrl: server.trimmingCharacters(in: .whitespaces), code: code.trimmingCharacters(in: .whitespaces), signer: graph.signer) {
                            graph.session = s
                            await sync.syncNow()
                        }
                        busy = false
                    }
                }.disabled(busy || code.isEmpty)
            }
        }
    }
}

// MARK: Arrears

struct ArrearsRow: View {
    let line: ArrearsLine
    var body: some View {
        VStack(alignment: .leading) {
            Text("\(line.customerName) · \(Money.yuan(line.remainingFen))")
            Text("\(line.address) · " + L("arrears.months", Int(line.account.monthsOverdue))).font(.caption)
        }
    }
}

/// 欠费清单: every debt in the manager's grids; each leads to collection or to a notice.
struct ArrearsView: View {
    @StateObject var model: ArrearsModel

    var body: some View {
        List {
            ProblemBanner(problem: model.problem)
            Section(L("arrears.total", Money.yuan(model.remainingFen))) {
                if model.lines.isEmpty { Text(L("none")) }
                ForEach(model.lines, id: \.account.id) { line in
                    NavigationLink(value: Route.collect(accountId: line.account.id)) { ArrearsRow(line: line) }
                    NavigationLink(L("notice.give"), value: Route.notice(accountId: line.account.id)).font(.caption)
                }
            }
        }
        .navigationTitle(L("arrears.title"))
        .task { await model.refresh() }
        .refreshable { await model.refresh() }
    }
}

/// 催缴通知: how the customer was told, what they said, the day they promised to pay.
struct NoticeView: View {
    @StateObject var model: NoticeModel
    @State private var promised = false
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        Form {
            Section {
                LabeledContent(L("owed"), value: Money.yuan(model.line.remainingFen))
                LabeledContent(L("months_overdue"), value: "\(model.line.account.monthsOverdue)")
            }
            ProblemBanner(problem: model.problem)
            if let saved = model.saved {
                Text(L("notice.saved", time(saved.givenAtMs))).foregroundStyle(.green)
                Button(L("back")) { dismiss() }
            } else {
                Picker(L("notice.channel"), selection: $model.channel) {
                    Text(L("notice.channel.notice_slip")).tag(NoticeChannel.noticeSlip)
                    Text(L("notice.channel.phone")).tag(NoticeChannel.phone)
                    Text(L("notice.channel.letter")).tag(NoticeChannel.letter)
                }
                TextField(L("notice.outcome"), text: $model.outcome, axis: .vertical)
                Toggle(L("notice.promised"), isOn: $promised)
                if promised {
                    DatePicker(L("notice.promised_day"), selection: Binding(get: { model.promisedPay ?? Date() }, set: { model.promisedPay = $0 }), displayedComponents: .date)
                }
                TextField(L("notes"), text: $model.notes)
                Section {
                    Button(L("notice.record")) {
                        if !promised { model.promisedPay = nil }
                        Task { await model.record() }
                    }.disabled(model.saving)
                }
            }
        }
        .navigationTitle(L("notice.title", model.line.customerName))
    }
}

// MARK: Buildings → households

struct BuildingsView: View {
    @StateObject var model: BuildingsModel
    @State private var query = ""
    @State private var newName = ""

    var body: some View {
        List {
            if model.grids.count > 1 {
                Picker(L("grid"), selection: Binding(get: { model.grid }, set: { g in Task { await model.selectGrid(g) } })) {
                    ForEach(model.grids, id: \.self) { Text($0).tag($0) }
                }.pickerStyle(.segmented)
            }
            ProblemBanner(problem: model.problem)
            if !query.isEmpty {
                ForEach(model.found, id: \.id) { h in householdLink(h) }
            } else {
                Section(L("add_building")) {
                    TextField(L("building_name"), text: $newName)
                    Button(L("add")) { Task { await model.addBuilding(name: newName, address: ""); newName = "" } }.disabled(newName.isEmpty)
                }
                ForEach(model.premises, id: \.id) { p in
                    Section {
                        Button(p.name) { Task { await model.select(p) } }
                        if model.selected?.id == p.id {
                            ForEach(model.households, id: \.id) { h in householdLink(h) }
                            NavigationLink(L("household.new"), value: Route.newHousehold(premisesId: p.id))
                        }
                    }
                }
            }
        }
        .searchable(text: $query, prompt: L("search_hint"))
        .onChange(of: query) { q in Task { await model.search(q) } }
        .navigationTitle(L("tab.buildings"))
        .task { await model.refresh() }
    }

    private func householdLink(_ h: Household) -> some View {
        NavigationLink(value: Route.household(id: h.id)) {
            VStack(alignment: .leading) {
                Text("\(h.unit) \(h.room)  \(h.customerName)")
                Text(h.mobile).font(.caption)
            }
        }
    }
}

// MARK: Household archive

struct HouseholdView: View {
    @StateObject var model: HouseholdModel
    @EnvironmentObject var graph: AppGraph
    @Environment(\.openURL) private var openURL
    @State private var purpose = ""
    @State private var asking = false
    @State private var saved = false

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            Section(L("household.title")) {
                TextField(L("field.customer_name"), text: $model.form.customerName)
                TextField(L("field.unit"), text: $model.form.unit)
                TextField(L("field.room"), text: $model.form.room)
                TextField(L("field.address"), text: $model.form.address)
                TextField(L("field.mobile"), text: $model.form.mobile).keyboardType(.phonePad)
                TextField(L("field.landline"), text: $model.form.landline).keyboardType(.phonePad)
                Picker(L("field.id_type"), selection: $model.form.idType) {
                    Text(L("id.none")).tag(IdType?.none)
                    Text(L("id.resident")).tag(IdType?.some(.residentId))
                    Text(L("id.passport")).tag(IdType?.some(.passport))
                }
                TextField(L("field.id_number"), text: $model.form.idNumber)
                TextField(L("field.work_unit"), text: $model.form.workUnit)
                TextField(L("field.opinions"), text: $model.form.opinions)
                DayPicker(label: L("field.birthday"), text: $model.form.birthday)
                TextField(L("field.notes"), text: $model.form.notes)
            }
            if !model.isNew && !model.revealed {
                Button(L("reveal")) { asking = true }
            }
            if !model.isNew {
                Button(L("household.call")) {
                    Task { if let n = await model.numberToCall(), let url = URL(string: "tel:\(n)") { openURL(url) } }
                }
            }
            if !model.duplicates.isEmpty && !model.duplicatesAcknowledged {
                Section(L("duplicates.title")) {
                    ForEach(model.duplicates, id: \.household.id) { d in
                        Text("\(d.household.customerName) · \(d.household.address) · \(d.household.mobile)")
                    }
                    Button(L("duplicates.create_anyway")) {
                        model.duplicatesAcknowledged = true
                        Task { saved = await model.save() == .saved }
                    }
                }
            }
            Section {
                Button(L("save")) { Task { saved = await model.save() == .saved } }.disabled(model.saving)
                if saved { Text(L("saved")).foregroundStyle(.green) }
            }
            if !model.isNew {
                Section {
                    NavigationLink(L("visit.start"), value: Route.visit(householdId: model.form.id, appointmentId: nil))
                    NavigationLink(L("appointment.book"), value: Route.appointment(householdId: model.form.id, appointmentId: nil, late: false))
                }
                if !model.arrears.isEmpty {
                    Section(L("household.arrears")) {
                        ForEach(model.arrears, id: \.account.id) { line in
                            NavigationLink(value: Route.collect(accountId: line.account.id)) {
                                Text(L("plan.arrears", Money.yuan(line.remainingFen)) + " · " + L("arrears.months", Int(line.account.monthsOverdue)))
                            }
                            NavigationLink(L("notice.give"), value: Route.notice(accountId: line.account.id))
                        }
                    }
                }
            }
            if !model.history.isEmpty {
                Section(L("history")) {
                    ForEach(Array(model.history.enumerated()), id: \.offset) { _, e in
                        switch e {
                        case .visitEntry(let v): Text(L("history.visit", time(v.arrivedAtMs), v.outcome) + (v.signatureId == nil ? "" : " ✍"))
                        case .noticeEntry(let n): Text(L("history.notice", time(n.givenAtMs), n.outcome))
                        case .receiptEntry(let r, let voided): Text(L("history.receipt", time(r.collectedAtMs), r.receiptNo, Money.yuan(r.amountFen)) + (voided ? L("history.voided") : ""))
                        }
                    }
                }
            }
        }
        .navigationTitle(model.isNew ? L("household.new") : model.form.customerName)
        .task { await model.load() }
        .alert(L("reveal.purpose"), isPresented: $asking) {
            TextField(L("reveal.purpose"), text: $purpose)
            Button(L("reveal")) { Task { await model.reveal(purpose: purpose) } }
            Button(L("cancel"), role: .cancel) {}
        }
    }
}

// MARK: Signature

/// The pad, alone on a sheet: nothing scrolls under the customer's finger.
struct SignatureSheet: View {
    let onSigned: (SignaturePad) -> Void
    let onClear: () -> Void
    @State private var input: SignatureInput?
    @State private var touching = false
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            VStack(alignment: .leading) {
                Text(L("signature.hint")).font(.caption)
                GeometryReader { geo in
                    Canvas { ctx, _ in
                        for stroke in input?.strokes ?? [] {
                            var path = Path()
                            for (i, p) in stroke.enumerated() {
                                let pt = CGPoint(x: CGFloat(p.x), y: CGFloat(p.y))
                                if i == 0 { path.move(to: pt) } else { path.addLine(to: pt) }
                            }
                            ctx.stroke(path, with: .color(.black), style: StrokeStyle(lineWidth: 3, lineCap: .round, lineJoin: .round))
                        }
                    }
                    .background(Color.white)
                    .border(Color.gray)
                    .gesture(DragGesture(minimumDistance: 0).onChanged { g in
                        if input == nil { input = SignatureInput(width: Int(geo.size.width), height: Int(geo.size.height)) }
                        input?.add(x: g.location.x, y: g.location.y, pressure: nil, newStroke: !touching)
                        touching = true
                    }.onEnded { _ in touching = false })
                }
                .frame(height: 240)
                Spacer()
            }
            .padding()
            .interactiveDismissDisabled()
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button(L("cancel")) { dismiss() } }
                ToolbarItem(placement: .bottomBar) {
                    // "重签": the pad and the signature the form holds are both cleared
                    Button(L("signature.clear")) { input?.clear(); onClear() }
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button(L("signature.done")) { if let pad = input?.pad { onSigned(pad); dismiss() } }.disabled(input?.isEmpty ?? true)
                }
            }
        }
    }
}

/// The form's signature row: its state, and the one action that opens the pad.
struct SignatureRow: View {
    let signed: Bool
    let flagged: Bool
    let onSigned: (SignaturePad) -> Void
    let onClear: () -> Void
    @State private var signing = false

    var body: some View {
        Button(signed ? L("signature.taken") : L("signature.open")) { signing = true }
            .sheet(isPresented: $signing) { SignatureSheet(onSigned: onSigned, onClear: onClear) }
        if flagged { Text(L("signature.again")).foregroundStyle(.red) }
    }
}

private struct RelationPicker: View {
    @Binding var relation: SignerRelation
    var body: some View {
        Picker(L("field.signer_relation"), selection: $relation) {
            Text(L("relation.householder")).tag(SignerRelation.householder)
            Text(L("relation.family")).tag(SignerRelation.familyMember)
            Text(L("relation.shop_staff")).tag(SignerRelation.shopStaff)
        }
    }
}

// MARK: Visit

/// 走访目的: why the manager visits (or will visit, for an appointment).
struct PurposePicker: View {
    @Binding var purpose: VisitPurpose
    var body: some View {
        Picker(L("field.purpose"), selection: $purpose) {
            Text(L("purpose.survey")).tag(VisitPurpose.survey)
            Text(L("purpose.sale")).tag(VisitPurpose.sale)
            Text(L("purpose.service_order")).tag(VisitPurpose.serviceOrder)
            Text(L("purpose.arrears")).tag(VisitPurpose.arrears)
            Text(L("purpose.complaint")).tag(VisitPurpose.complaint)
            Text(L("purpose.care")).tag(VisitPurpose.care)
            Text(L("purpose.retention")).tag(VisitPurpose.retention)
        }
    }
}

struct VisitView: View {
    @StateObject var model: VisitModel
    @StateObject private var place = PlaceFinder()
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            if let a = model.appointment { Text(L("visit.keeps_appointment", time(a.agreedAtMs))) }
            if model.saved != nil {
                Text(L("visit.saved")).foregroundStyle(.green)
                if let p = model.punctuality { Text(punctualityText(p)) }
                // a request or complaint heard at the door becomes a ticket the manager owns (首问负责制)
                NavigationLink(L("ticket.take"), value: Route.tickets(householdId: model.household.id))
                Button(L("back")) { dismiss() }
            } else {
                PurposePicker(purpose: $model.purpose)
                TextField(L("field.outcome"), text: $model.outcome, axis: .vertical)
                TextField(L("field.needs"), text: $model.needs, axis: .vertical)
                TextField(L("field.competitor_info"), text: $model.competitorInfo)
                TextField(L("field.opinions"), text: $model.opinions)
                TextField(L("field.open_question"), text: $model.openQuestion)
                TextField(L("field.follow_up"), text: $model.followUp)
                DayPicker(label: L("field.follow_up_due"), text: $model.followUpDue)
                Section(L("work_order_signature")) {
                    Text(model.workOrder).font(.callout)
                    TextField(L("field.signer_name"), text: $model.signerName)
                    RelationPicker(relation: $model.relation)
                    SignatureRow(signed: model.signature != nil, flagged: !model.flags.isEmpty, onSigned: { model.sign($0) }, onClear: { model.clearSignature() })
                }
                Section {
                    Button(L("visit.save")) { Task { await model.submit() } }.disabled(model.saving)
                }
            }
        }
        .navigationTitle(L("visit.title", model.household.customerName))
        // the arrival: when the form is on screen at the door (the first time), and where the
        // phone is, asked alongside (a fix, or no fix within 30 s); saving never waits for it
        .onAppear {
            model.arrive()
            Task { model.locate(positionOf(await place.fix(), nowMs: Int64(Date().timeIntervalSince1970 * 1000))) }
        }
    }
}

// MARK: Collection

struct CollectionView: View {
    @StateObject var model: CollectionModel
    @StateObject private var place = PlaceFinder()

    var body: some View {
        Form {
            Section {
                LabeledContent(L("owed"), value: Money.yuan(model.line.remainingFen))
                LabeledContent(L("field.receipt_no"), value: model.receiptNo ?? "—")
            }
            ProblemBanner(problem: model.problem)
            if let saved = model.saved {
                ReceiptDone(receipt: saved, code: model.code, html: model.printoutHtml, env: model.env)
            } else {
                Picker(L("field.method"), selection: $model.method) {
                    Text(L("method.cash")).tag(PaymentMethod.cash)
                    Text(L("method.wechat")).tag(PaymentMethod.wechat)
                    Text(L("method.alipay")).tag(PaymentMethod.alipay)
                    Text(L("method.card")).tag(PaymentMethod.card)
                }.pickerStyle(.segmented)
                TextField(L("field.amount_fen"), text: $model.amountText).keyboardType(.decimalPad)
                if !model.capitals.isEmpty { Text(L("capitals", model.capitals)) }
                if model.method == .cash {
                    TextField(L("field.cash_received_fen"), text: $model.cashText).keyboardType(.decimalPad)
                    Text(L("change", model.changeFen.map(Money.yuan) ?? "—")).font(.title)
                }
                if model.asksForReference {
                    TextField(L("field.payment_ref"), text: $model.paymentRef).keyboardType(.asciiCapable).textInputAutocapitalization(.never)
                }
                Section(L("receipt.signature")) {
                    TextField(L("field.signer_name"), text: $model.signerName)
                    RelationPicker(relation: $model.relation)
                    SignatureRow(signed: model.signature != nil, flagged: !model.flags.isEmpty, onSigned: { model.sign($0) }, onClear: { model.clearSignature() })
                }
                Section {
                    Button(L("receipt.confirm")) { Task { await model.collect() } }
                        .disabled(model.receiptNo == nil || model.saving)
                }
            }
        }
        .navigationTitle(L("collect.title", model.line.customerName))
        .task { await model.load() }
        // where the phone is, asked alongside (a fix, or no fix within 30 s); collecting never waits for it
        .onAppear {
            Task { model.locate(positionOf(await place.fix(), nowMs: Int64(Date().timeIntervalSince1970 * 1000))) }
        }
    }
}

/// The saved receipt: the customer's copy on screen, shared as a picture, printed on a Bluetooth printer.
struct ReceiptDone: View {
    let receipt: Receipt
    let code: String?
    let html: String?
    let env: Env
    @State private var shareFile: URL?
    @State private var problem: Problem?
    @State private var printing = false

    var body: some View {
        Section {
            Text(L("receipt.saved", receipt.receiptNo)).foregroundStyle(.green)
            Text(L("verification_code", code ?? ""))
            if let html { ReceiptWebView(html: html).frame(height: 520) }
        }
        Section {
            if let shareFile {
                ShareLink(item: shareFile) { Label(L("receipt.share"), systemImage: "square.and.arrow.up") }
            } else {
                ProgressView()
            }
            Button(L("receipt.print")) { printing = true }
            ProblemBanner(problem: problem)
        }
        .task { await prepareShare() }
        .sheet(isPresented: $printing) { PrintSheet(receipt: receipt, printing: ReceiptPrinting(env: env, font: SystemFont.cjk)) }
    }

    private func prepareShare() async {
        guard shareFile == nil else { return }
        do {
            let png = try await ReceiptPrinting(env: env, font: SystemFont.cjk).image(receipt)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("receipt-\(receipt.receiptNo).png")
            try png.write(to: url, options: .atomic)
            shareFile = url
        } catch { problem = Problem.of(error) }
    }
}

struct ReceiptWebView: UIViewRepresentable {
    let html: String
    func makeUIView(context: Context) -> WKWebView {
        let config = WKWebViewConfiguration()
        config.defaultWebpagePreferences.allowsContentJavaScript = false
        return WKWebView(frame: .zero, configuration: config)
    }
    func updateUIView(_ view: WKWebView, context: Context) { view.loadHTMLString(html, baseURL: nil) }
}

// MARK: Sync

struct SyncView: View {
    @EnvironmentObject var sync: SyncCenter
    let managerId: String
    @State private var discarding: RejectedChange?

    var body: some View {
        List {
            Section(L("sync.title")) {
                Text(syncSummary(sync.status))
                if case .offline(let at) = sync.status.phase { Text(L("sync.retry_at", time(at))) }
                if case .failed(let message) = sync.status.phase { Text(message).foregroundStyle(.red) }
                LabeledContent(L("sync.last_success"), value: time(sync.status.lastSuccessMs))
                LabeledContent(L("sync.pending_count"), value: "\(sync.status.pending)")
                LabeledContent(L("sync.rejected_count"), value: "\(sync.status.rejected)")
                ProblemBanner(problem: sync.problem)
            }
            Section {
                Button(L("sync.now")) { Task { await sync.syncNow() } }.disabled(sync.running || !sync.status.enrolled)
            }
            if !sync.rejected.isEmpty {
                Section(L("rejected.title")) {
                    ForEach(sync.rejected, id: \.opId) { c in
                        VStack(alignment: .leading) {
                            Text("\(c.kind) · \(time(c.createdAtMs))").font(.headline)
                            Text(L("rejected.reason", c.code, c.reason))
                        }
                        Button(L("retry")) { Task { await sync.retry(c) } }
                        Button(L("discard"), role: .destructive) { discarding = c }
                    }
                }
            }
        }
        .navigationTitle(L("sync.title"))
        .confirmationDialog(L("discard.title"), isPresented: Binding(get: { discarding != nil }, set: { if !$0 { discarding = nil } })) {
            Button(L("discard"), role: .destructive) {
                if let c = discarding { Task { await sync.discard(c, by: managerId) } }
                discarding = nil
            }
        }
    }
}

/// One line for the sync indicator.
func syncSummary(_ s: SyncStatus) -> String {
    if !s.enrolled { return L("sync.not_enrolled") }
    switch s.phase {
    case .pushing(let sent, let total): return L("sync.sending", Int(sent), Int(total))
    case .pulling(let received, let remaining): return L("sync.receiving", Int(received), Int(received + remaining))
    case .offline: return L("sync.offline", Int(s.pending))
    case .failed: return L("sync.failed")
    case .idle:
        if s.pending > 0 || s.rejected > 0 || s.lastSuccessMs == nil { return L("sync.pending", Int(s.pending), Int(s.rejected)) }
        return L("sync.synced", time(s.lastSuccessMs))
    }
}
