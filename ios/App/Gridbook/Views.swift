// The screens of a visit in SwiftUI, zh-CN first with English beside it: enrolment (Today and
// the rest of the day are in WorkdayViews.swift), buildings → households, the household archive, the visit form, arrears collection, sync.
import GridbookFFI
import GridbookKit
import SwiftUI
import WebKit

struct ProblemBanner: View {
    let problem: Problem?
    var body: some View {
        if let p = problem { Text(p.text).foregroundStyle(.red).font(.callout) }
    }
}

func time(_ ms: Int64?) -> String {
    guard let ms else { return "—" }
    let f = DateFormatter(); f.dateFormat = "MM-dd HH:mm"
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
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
            Section("设备登记 Enrol this phone") {
                TextField("服务器地址 Server address", text: $server).textInputAutocapitalization(.never).keyboardType(.URL)
                TextField("登记码 Enrolment code", text: $code).textInputAutocapitalization(.characters)
                ProblemBanner(problem: sync.problem)
                Button("登记 Enrol") {
                    busy = true
                    Task {
                        if let s = await sync.enrol(serverUrl: server, code: code, signer: graph.signer) {
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

// MARK: Today

struct ArrearsRow: View {
    let line: ArrearsLine
    var body: some View {
        VStack(alignment: .leading) {
            Text("\(line.customerName) · \(Money.yuan(line.remainingFen))")
            Text("\(line.address) · 欠费 \(line.account.monthsOverdue) 个月 months").font(.caption)
        }
    }
}

// MARK: Buildings → households

struct BuildingsView: View {
    @StateObject var model: BuildingsModel
    @EnvironmentObject var graph: AppGraph
    @State private var query = ""
    @State private var newName = ""

    var body: some View {
        List {
            ProblemBanner(problem: model.problem)
            if !query.isEmpty {
                ForEach(model.found, id: \.id) { h in householdLink(h) }
            } else {
                Section("新增楼宇 Add a building") {
                    HStack {
                        TextField("如 3号楼 e.g. Building 3", text: $newName)
                        Button("添加 Add") { Task { await model.addBuilding(name: newName, address: ""); newName = "" } }.disabled(newName.isEmpty)
                    }
                }
                ForEach(model.premises, id: \.id) { p in
                    Section {
                        Button(p.name) { Task { await model.select(p) } }
                        if model.selected?.id == p.id {
                            ForEach(model.households, id: \.id) { h in householdLink(h) }
                            if let session = graph.session {
                                NavigationLink("新建客户档案 New household") {
                                    HouseholdView(model: HouseholdModel(env: graph.env(session), premisesId: p.id))
                                }
                            }
                        }
                    }
                }
            }
        }
        .searchable(text: $query, prompt: "姓名、电话、地址 Name, phone, address")
        .onChange(of: query) { q in Task { await model.search(q) } }
        .navigationTitle("楼宇 Buildings")
        .task { await model.refresh() }
    }

    @ViewBuilder private func householdLink(_ h: Household) -> some View {
        if let session = graph.session {
            NavigationLink {
                HouseholdView(model: HouseholdModel(env: graph.env(session), existing: h))
            } label: {
                VStack(alignment: .leading) {
                    Text("\(h.unit) \(h.room)  \(h.customerName)")
                    Text(h.mobile).font(.caption)
                }
            }
        }
    }
}

// MARK: Household archive

struct HouseholdView: View {
    @StateObject var model: HouseholdModel
    @EnvironmentObject var graph: AppGraph
    @State private var purpose = ""
    @State private var asking = false
    @State private var saved = false

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            Section("客户档案 Household archive") {
                TextField("客户姓名 Customer name", text: $model.form.customerName)
                TextField("单元 Unit", text: $model.form.unit)
                TextField("门牌号 Door", text: $model.form.room)
                TextField("地址 Address", text: $model.form.address)
                TextField("手机 Mobile", text: $model.form.mobile).keyboardType(.phonePad)
                TextField("固话 Landline", text: $model.form.landline).keyboardType(.phonePad)
                Picker("证件类型 ID type", selection: $model.form.idType) {
                    Text("无 None").tag(IdType?.none)
                    Text("居民身份证 Resident ID").tag(IdType?.some(.residentId))
                    Text("护照 Passport").tag(IdType?.some(.passport))
                }
                TextField("证件号码 ID number", text: $model.form.idNumber)
                if !model.isNew && !model.revealed {
                    Button("查看完整信息 Show in full") { asking = true }
                }
                TextField("工作单位 Work unit", text: $model.form.workUnit)
                TextField("意见 Opinions", text: $model.form.opinions)
                TextField("备注 Notes", text: $model.form.notes)
            }
            if !model.duplicates.isEmpty && !model.duplicatesAcknowledged {
                Section("可能重复的档案 Possible duplicates") {
                    ForEach(model.duplicates, id: \.household.id) { d in
                        Text("\(d.household.customerName) · \(d.household.address) · \(d.household.mobile)")
                    }
                    Button("不是同一户，继续创建 Not the same: create it") {
                        model.duplicatesAcknowledged = true
                        Task { saved = await model.save() == .saved }
                    }
                }
            }
            Button("保存 Save") { Task { saved = await model.save() == .saved } }
            if saved { Text("已保存 Saved").foregroundStyle(.green) }
            if !model.isNew, let session = graph.session {
                NavigationLink("开始走访 Start a visit") { VisitView(model: VisitModel(env: graph.env(session), household: model.form)) }
                NavigationLink("预约 Book a visit") { AppointmentView(model: AppointmentModel(env: graph.env(session), household: model.form)) }
            }
            if !model.history.isEmpty {
                Section("历史记录 History") {
                    ForEach(Array(model.history.enumerated()), id: \.offset) { _, e in
                        switch e {
                        case .visitEntry(let v): Text("\(time(v.arrivedAtMs)) 走访 Visit · \(v.outcome)\(v.signatureId == nil ? "" : " ✍")")
                        case .noticeEntry(let n): Text("\(time(n.givenAtMs)) 催缴通知 Notice · \(n.outcome)")
                        case .receiptEntry(let r, let voided): Text("\(time(r.collectedAtMs)) 收据 Receipt \(r.receiptNo) · \(Money.yuan(r.amountFen))\(voided ? " (作废 voided)" : "")")
                        }
                    }
                }
            }
        }
        .navigationTitle(model.isNew ? "新建档案 New" : model.form.customerName)
        .task { await model.load() }
        .alert("查看原因（将记录）Why (recorded)", isPresented: $asking) {
            TextField("原因 Purpose", text: $purpose)
            Button("查看 Show") { Task { await model.reveal(purpose: purpose) } }
            Button("取消 Cancel", role: .cancel) {}
        }
    }
}

// MARK: Signature pad

struct SignaturePadView: View {
    let onSigned: (SignaturePad) -> Void
    @State private var input: SignatureInput?
    @State private var touching = false

    var body: some View {
        VStack(alignment: .leading) {
            Text("请客户本人签字（不准代签）The customer signs in person").font(.caption)
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
            .frame(height: 180)
            HStack {
                Button("重签 Sign again") { input?.clear() }
                Button("确认签字 Take the signature") { if let pad = input?.pad { onSigned(pad) } }.disabled(input?.isEmpty ?? true)
            }
        }
    }
}

private struct RelationPicker: View {
    @Binding var relation: SignerRelation
    var body: some View {
        Picker("签字人关系 Relation", selection: $relation) {
            Text("户主 Householder").tag(SignerRelation.householder)
            Text("家属 Family member").tag(SignerRelation.familyMember)
            Text("店员 Shop staff").tag(SignerRelation.shopStaff)
        }
    }
}

// MARK: Visit

/// 走访目的: why the manager visits (or will visit, for an appointment).
struct PurposePicker: View {
    @Binding var purpose: VisitPurpose
    var body: some View {
        Picker("走访目的 Purpose", selection: $purpose) {
            Text("走访调研 Survey").tag(VisitPurpose.survey)
            Text("营销 Sale").tag(VisitPurpose.sale)
            Text("业务受理 Service order").tag(VisitPurpose.serviceOrder)
            Text("欠费催缴 Arrears").tag(VisitPurpose.arrears)
            Text("投诉处理 Complaint").tag(VisitPurpose.complaint)
            Text("关怀 Care").tag(VisitPurpose.care)
            Text("挽留 Retention").tag(VisitPurpose.retention)
        }
    }
}

struct VisitView: View {
    @StateObject var model: VisitModel
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        Form {
            ProblemBanner(problem: model.problem)
            if model.saved != nil {
                Text("走访记录已保存 Visit saved").foregroundStyle(.green)
                if let p = model.punctuality { Text(punctualityText(p)) }
                // a request or complaint heard at the door becomes a ticket the manager owns (首问负责制)
                NavigationLink("受理客户诉求 Take a request or complaint") {
                    TicketsView(model: TicketsModel(env: model.env, householdId: model.household.id))
                }
                Button("返回 Back") { dismiss() }
            } else {
                PurposePicker(purpose: $model.purpose)
                TextField("走访结果 Outcome", text: $model.outcome)
                TextField("客户需求 Needs", text: $model.needs)
                TextField("竞争对手信息 Competitor information", text: $model.competitorInfo)
                TextField("意见 Opinions", text: $model.opinions)
                TextField("未能当场答复的问题 Open question", text: $model.openQuestion)
                TextField("承诺回复 Reply promised", text: $model.followUp)
                TextField("承诺回复时限 YYYY-MM-DD", text: $model.followUpDue)
                Section("工作单签字 Work order signature") {
                    Text(model.workOrder).font(.callout)
                    TextField("签字人 Signer", text: $model.signerName)
                    RelationPicker(relation: $model.relation)
                    SignaturePadView { model.sign($0) }
                    if !model.flags.isEmpty { Text("签字过快或过短，请重签 Please sign again").foregroundStyle(.red) }
                    if model.signature != nil && model.flags.isEmpty { Text("已签字 Signed").foregroundStyle(.green) }
                }
                Button("保存走访记录 Save the visit") { Task { await model.submit() } }
            }
        }
        .navigationTitle("走访 Visit · \(model.household.customerName)")
    }
}

// MARK: Collection

struct CollectionView: View {
    @StateObject var model: CollectionModel
    static let company = "中国电信 China Telecom"

    var body: some View {
        Form {
            Section {
                LabeledContent("欠费金额 Owed", value: Money.yuan(model.line.remainingFen))
                LabeledContent("收据编号 Receipt No.", value: model.receiptNo ?? "—")
            }
            ProblemBanner(problem: model.problem)
            Picker("付款方式 Method", selection: $model.method) {
                Text("现金 Cash").tag(PaymentMethod.cash)
                Text("微信 WeChat").tag(PaymentMethod.wechat)
                Text("支付宝 Alipay").tag(PaymentMethod.alipay)
                Text("银行卡 Card").tag(PaymentMethod.card)
            }.pickerStyle(.segmented)
            TextField("实收金额 Amount paid ¥", text: $model.amountText).keyboardType(.decimalPad)
            if !model.capitals.isEmpty { Text("大写 人民币\(model.capitals)") }
            if model.method == .cash {
                TextField("收取现金 Cash received ¥", text: $model.cashText).keyboardType(.decimalPad)
                Text("找零 Change \(model.changeFen.map(Money.yuan) ?? "—")").font(.title)
            }
            Section("收据签字 Receipt signature") {
                TextField("签字人 Signer", text: $model.signerName)
                RelationPicker(relation: $model.relation)
                SignaturePadView { model.sign($0) }
            }
            if let saved = model.saved {
                // The customer's copy: what was sealed, with the amount in capitals and the code.
                Text("收据 \(saved.receiptNo) 已保存 saved").foregroundStyle(.green)
                Text("验证码 Verification code \(model.code ?? "")")
                if let html = model.printoutHtml { ReceiptWebView(html: html).frame(height: 520) }
            } else {
                Button("确认收款，保存并出具收据 Confirm: save and issue the receipt") {
                    Task { await model.collect(company: Self.company) }
                }.disabled(model.receiptNo == nil)
            }
        }
        .navigationTitle("收取欠费 Collect · \(model.line.customerName)")
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
            Section("同步 Sync") {
                Text(sync.status.summary)
                if case .offline(let at) = sync.status.phase { Text("将于 \(time(at)) 后重试 Retrying after \(time(at))") }
                if case .failed(let message) = sync.status.phase { Text(message).foregroundStyle(.red) }
                LabeledContent("上次成功 Last success", value: time(sync.status.lastSuccessMs))
                LabeledContent("待同步 Waiting", value: "\(sync.status.pending)")
                LabeledContent("被拒绝 Refused", value: "\(sync.status.rejected)")
                ProblemBanner(problem: sync.problem)
                Button("立即同步 Sync now") { Task { await sync.syncNow() } }.disabled(sync.running || !sync.status.enrolled)
            }
            if !sync.rejected.isEmpty {
                Section("被拒绝的修改 Refused changes") {
                    ForEach(sync.rejected, id: \.opId) { c in
                        VStack(alignment: .leading) {
                            Text("\(c.kind) · \(time(c.createdAtMs))").font(.headline)
                            Text("原因 Reason (\(c.code)): \(c.reason)")
                            HStack {
                                Button("重试 Retry") { Task { await sync.retry(c) } }
                                Button("放弃 Discard", role: .destructive) { discarding = c }
                            }.buttonStyle(.borderless)
                        }
                    }
                }
            }
        }
        .navigationTitle("同步 Sync")
        .confirmationDialog("放弃这条修改？Discard this change?", isPresented: Binding(get: { discarding != nil }, set: { if !$0 { discarding = nil } })) {
            Button("放弃 Discard", role: .destructive) { if let c = discarding { sync.discard(c, by: managerId) }; discarding = nil }
        }
    }
}
