// Per-screen state for the SwiftUI app, as Android's core-logic has it: Today, buildings →
// households, the household archive with the duplicate warning, the visit form with the signed
// work order, and arrears collection with the change computed and the sealed receipt.
import Foundation
import GridbookFFI

/// What every model needs: the store, the device key, who is using the phone, the sync center.
public struct Env {
    public let store: GridbookStore
    public let signer: DeviceSigner
    public let session: Session
    public let sync: SyncCenter
    public init(store: GridbookStore, signer: DeviceSigner, session: Session, sync: SyncCenter) {
        self.store = store; self.signer = signer; self.session = session; self.sync = sync
    }
    var zoneOffsetMin: Int32 { Int32(TimeZone.current.secondsFromGMT() / 60) }
    var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

@MainActor
public final class TodayModel: ObservableObject {
    @Published public private(set) var followUps: [Visit] = []
    @Published public private(set) var arrears: [ArrearsLine] = []
    @Published public private(set) var summary: GridSummary?
    @Published public private(set) var problem: Problem?
    let env: Env
    public init(env: Env) { self.env = env }

    public var remainingFen: Int64 { arrears.reduce(0) { $0 + $1.remainingFen } }

    public func refresh() async {
        let store = env.store, grid = env.session.grid
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd"
        let today = f.string(from: Date())
        do {
            followUps = try await io { try store.followUpsDue(gridId: grid, date: today) }
            arrears = try await io { try store.gridArrears(gridId: grid) }
            summary = try await io { try store.gridSummary(gridId: grid) }
            problem = nil
        } catch { problem = Problem.of(error) }
    }
}

@MainActor
public final class BuildingsModel: ObservableObject {
    @Published public private(set) var premises: [Premises] = []
    @Published public private(set) var selected: Premises?
    @Published public private(set) var households: [Household] = []
    @Published public private(set) var found: [Household] = []
    @Published public private(set) var problem: Problem?
    let env: Env
    public init(env: Env) { self.env = env }

    public func refresh() async {
        let store = env.store, grid = env.session.grid
        do { premises = try await io { try store.premisesInGrid(gridId: grid) }; problem = nil } catch { problem = Problem.of(error) }
    }

    public func select(_ p: Premises) async {
        let store = env.store
        selected = p
        do { households = try await io { try store.householdsInPremises(premisesId: p.id) } } catch { problem = Problem.of(error) }
    }

    public func search(_ q: String) async {
        guard !q.trimmingCharacters(in: .whitespaces).isEmpty else { found = []; return }
        let store = env.store, grid = env.session.grid
        do { found = try await io { try store.searchHouseholds(gridId: grid, query: q, limit: 50) } } catch { problem = Problem.of(error) }
    }

    public func addBuilding(name: String, address: String) async {
        let store = env.store
        let p = Premises(gridId: env.session.grid, premisesType: .building, name: name, address: address)
        do { _ = try await io { try store.createPremises(premises: p) }; env.sync.refresh(); await refresh() } catch { problem = Problem.of(error) }
    }
}

@MainActor
public final class HouseholdModel: ObservableObject {
    public enum SaveOutcome { case saved, confirmDuplicates, failed }
    @Published public var form: Household
    @Published public private(set) var isNew: Bool
    @Published public private(set) var revealed = false
    @Published public private(set) var duplicates: [PossibleDuplicate] = []
    @Published public var duplicatesAcknowledged = false
    @Published public private(set) var history: [HistoryEntry] = []
    @Published public private(set) var problem: Problem?
    let env: Env

    public init(env: Env, premisesId: String?) {
        self.env = env
        form = Household(gridId: env.session.grid, premisesId: premisesId, customerName: "")
        isNew = true
    }

    public init(env: Env, existing: Household) {
        self.env = env
        form = existing
        isNew = false
    }

    public func load() async {
        guard !isNew else { return }
        let store = env.store, id = form.id
        do {
            form = try await io { try store.household(householdId: id) }
            history = try await io { try store.householdHistory(householdId: id) }
        } catch { problem = Problem.of(error) }
    }

    /// Shows ID and phone numbers in full; `purpose` goes to the access trail.
    public func reveal(purpose: String) async {
        let store = env.store, id = form.id
        do { form = try await io { try store.householdRevealed(householdId: id, purpose: purpose) }; revealed = true }
        catch { problem = Problem.of(error) }
    }

    public func save() async -> SaveOutcome {
        let store = env.store, h = form
        do {
            if isNew && !duplicatesAcknowledged {
                let dups = try await io { try store.possibleDuplicates(candidate: h) }
                if !dups.isEmpty { duplicates = dups; return .confirmDuplicates }
            }
            let stored: Household
            if isNew {
                stored = try await io { try store.createHousehold(household: h) }
            } else {
                stored = try await io { try store.updateHousehold(household: h) }
            }
            form = try await io { try store.household(householdId: stored.id) }
            isNew = false; revealed = false; problem = nil
            env.sync.refresh()
            return .saved
        } catch {
            problem = Problem.of(error)
            return .failed
        }
    }
}

@MainActor
public final class VisitModel: ObservableObject {
    @Published public var purpose: VisitPurpose = .survey
    @Published public var outcome = ""
    @Published public var needs = ""
    @Published public var competitorInfo = ""
    @Published public var opinions = ""
    @Published public var openQuestion = ""
    @Published public var followUp = ""
    @Published public var followUpDue = ""
    @Published public var signerName: String
    @Published public var relation: SignerRelation = .householder
    @Published public private(set) var signature: SignaturePad?
    @Published public private(set) var flags: [SignatureFlag] = []
    @Published public private(set) var saved: Visit?
    @Published public private(set) var problem: Problem?
    public let household: Household
    let env: Env

    public init(env: Env, household: Household) {
        self.env = env
        self.household = household
        signerName = household.customerName
    }

    public func sign(_ pad: SignaturePad) {
        do { flags = try checkSignature(pad: pad).flags; signature = pad; problem = nil }
        catch { signature = nil; problem = Problem.of(error) }
    }

    public var summary: String {
        [outcome.isEmpty ? nil : "结果 Outcome: \(outcome)", needs.isEmpty ? nil : "需求 Needs: \(needs)",
         followUp.isEmpty ? nil : "承诺 Promised: \(followUp) \(followUpDue)"].compactMap { $0 }.joined(separator: "\n")
    }

    public func submit() async {
        if signature != nil && !flags.isEmpty {
            problem = Problem(kind: .invalid, detail: "ask the customer to sign again", field: "signature")
            return
        }
        let store = env.store
        let visitId = store.newId(), now = env.nowMs
        var signatureId: String?
        do {
            if let pad = signature {
                let doc = WorkOrderDocument(
                    visitId: visitId, householdId: household.id, purpose: String(describing: purpose).snakeCased,
                    outcome: outcome, summary: summary.isEmpty ? "上门服务 Visit" : summary, managerId: env.session.managerId,
                    deviceId: store.deviceId(), visitedAtMs: now, zoneOffsetMin: env.zoneOffsetMin)
                _ = try sealWorkOrder(document: doc, pad: pad, signerName: signerName, relation: relation, hlc: store.nextStamp(), signer: env.signer)
                signatureId = store.newId()
            }
            let v = Visit(id: visitId, gridId: household.gridId, householdId: household.id, arrivedAtMs: now,
                          zoneOffsetMin: Int64(env.zoneOffsetMin), purpose: purpose, outcome: outcome, needs: needs,
                          competitorInfo: competitorInfo, opinions: opinions, openQuestion: openQuestion,
                          followUp: followUp, followUpDue: followUpDue, signatureId: signatureId, managerId: env.session.managerId)
            saved = try await io { try store.recordVisit(visit: v) }
            problem = nil
            env.sync.refresh()
        } catch { problem = Problem.of(error) }
    }
}

@MainActor
public final class CollectionModel: ObservableObject {
    @Published public var method: PaymentMethod = .cash { didSet { invalidate() } }
    @Published public var amountText: String { didSet { invalidate() } }
    @Published public var cashText = "" { didSet { invalidate() } }
    @Published public var signerName: String { didSet { invalidate() } }
    @Published public var relation: SignerRelation = .householder { didSet { invalidate() } }
    @Published public private(set) var signature: SignaturePad?
    @Published public private(set) var flags: [SignatureFlag] = []
    @Published public private(set) var document: ReceiptDocument?
    @Published public private(set) var previewHtml: String?
    @Published public private(set) var code: String?
    @Published public private(set) var saved: Receipt?
    @Published public private(set) var problem: Problem?
    public let line: ArrearsLine
    public let receiptNo: String
    let env: Env

    public init(env: Env, line: ArrearsLine) {
        self.env = env
        self.line = line
        amountText = formatYuan(fen: line.remainingFen).replacingOccurrences(of: ",", with: "")
        signerName = line.customerName
        // Stop-gap until the server issues numbered receipt blocks to each device.
        receiptNo = "R-\(env.store.deviceId().prefix(8).uppercased())-\(String(env.nowMs, radix: 36).uppercased())"
    }

    public var amountFen: Int64? { Money.parseYuan(amountText) }
    public var cashFen: Int64? { method == .cash ? Money.parseYuan(cashText) : amountFen }
    public var changeFen: Int64? { Money.change(amount: amountFen, cash: cashFen) }
    public var capitals: String { amountFen.flatMap { try? amountInCapitals(fen: $0) } ?? "" }

    private func invalidate() { document = nil; previewHtml = nil; code = nil }

    public func sign(_ pad: SignaturePad) {
        invalidate()
        do { flags = try checkSignature(pad: pad).flags; signature = pad; problem = nil }
        catch { signature = nil; problem = Problem.of(error) }
    }

    /// Seals the receipt with the signature and renders the customer's copy.
    public func preview(company: String) {
        func fail(_ field: String, _ rule: String) { problem = Problem(kind: .invalid, detail: rule, field: field) }
        guard let amount = amountFen else { return fail("amount_fen", "enter the amount in yuan, e.g. 128.00") }
        guard let cash = cashFen, let change = changeFen else { return fail("cash_received_fen", "the cash received must cover the amount") }
        guard let pad = signature, flags.isEmpty else { return fail("signature", "the customer signs the receipt") }
        let store = env.store
        let doc = ReceiptDocument(
            receiptNo: receiptNo, householdId: line.account.householdId, accountId: line.account.id,
            owedBeforeFen: line.remainingFen, paidFen: amount, cashReceivedFen: cash, changeFen: change,
            method: String(describing: method), collectorId: env.session.managerId, deviceId: store.deviceId(),
            issuedAtMs: env.nowMs, zoneOffsetMin: env.zoneOffsetMin)
        do {
            let seal = try sealReceipt(document: doc, pad: pad, signerName: signerName, relation: relation, hlc: store.nextStamp(), signer: env.signer)
            previewHtml = try receiptHtml(document: doc, pad: pad, record: seal, companyName: company)
            code = try verificationCode(record: seal, receiptNo: receiptNo)
            document = doc
            problem = nil
        } catch { problem = Problem.of(error) }
    }

    public func confirm() async {
        guard let doc = document else { return }
        let store = env.store
        let r = Receipt(gridId: line.account.gridId, receiptNo: doc.receiptNo, accountId: doc.accountId,
                        householdId: doc.householdId, owedBeforeFen: doc.owedBeforeFen, amountFen: doc.paidFen,
                        cashReceivedFen: doc.cashReceivedFen, changeFen: doc.changeFen, method: method,
                        collectedAtMs: doc.issuedAtMs, zoneOffsetMin: Int64(doc.zoneOffsetMin),
                        collectorId: doc.collectorId, signatureId: store.newId())
        do { saved = try await io { try store.recordReceipt(receipt: r) }; problem = nil; env.sync.refresh() }
        catch { problem = Problem.of(error) }
    }
}

extension String {
    /// serviceOrder → service_order (the core's text for an enum case).
    var snakeCased: String {
        reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }
}
