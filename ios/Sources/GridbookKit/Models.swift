// Per-screen state for the SwiftUI app, as Android's core-logic has it (the day — Today,
// appointments, tickets, the day summary — is in Workday.swift): buildings → households, the household archive with the duplicate warning, the visit form with the signed
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
    @Published public var purpose: VisitPurpose = .survey { didSet { textChanged() } }
    @Published public var outcome = "" { didSet { textChanged() } }
    @Published public var needs = "" { didSet { textChanged() } }
    @Published public var competitorInfo = ""
    @Published public var opinions = "" { didSet { textChanged() } }
    @Published public var openQuestion = "" { didSet { textChanged() } }
    @Published public var followUp = "" { didSet { textChanged() } }
    @Published public var followUpDue = "" { didSet { textChanged() } }
    @Published public var signerName: String
    @Published public var relation: SignerRelation = .householder
    /// The work order as the customer reads it before signing: exactly what the core seals.
    @Published public private(set) var workOrder = ""
    @Published public private(set) var signature: SignaturePad?
    @Published public private(set) var flags: [SignatureFlag] = []
    @Published public private(set) var saved: Visit?
    @Published public private(set) var sealed: CustomerSignature?
    /// 准时 / 早到 / 迟到 against the appointment the saved visit kept; nil without one.
    @Published public private(set) var punctuality: Punctuality?
    @Published public private(set) var problem: Problem?
    public let household: Household
    /// The appointment this visit keeps, if any.
    public let appointment: Appointment?
    let arrivedAtMs: Int64
    public let env: Env

    public init(env: Env, household: Household, appointment: Appointment? = nil) {
        self.env = env
        self.household = household
        self.appointment = appointment
        arrivedAtMs = env.nowMs
        signerName = household.customerName
        purpose = appointment?.purpose ?? .survey
        workOrder = workOrderText(visit: draft)
    }

    /// A change to the text the customer signs drops their signature: they must sign it again.
    private func textChanged() {
        let text = workOrderText(visit: draft)
        if text != workOrder { workOrder = text; signature = nil; flags = [] }
    }

    var draft: Visit {
        Visit(gridId: household.gridId, householdId: household.id, appointmentAtMs: appointment?.agreedAtMs, arrivedAtMs: arrivedAtMs,
              zoneOffsetMin: Int64(env.zoneOffsetMin), purpose: purpose, outcome: outcome, needs: needs,
              competitorInfo: competitorInfo, opinions: opinions, openQuestion: openQuestion,
              followUp: followUp, followUpDue: followUpDue, managerId: env.session.managerId)
    }

    public func sign(_ pad: SignaturePad) {
        do { flags = try checkSignature(pad: pad).flags; signature = pad; problem = nil }
        catch { signature = nil; problem = Problem.of(error) }
    }

    public func submit() async {
        if signature != nil && !flags.isEmpty {
            problem = Problem(kind: .invalid, detail: "ask the customer to sign again", field: "signature")
            return
        }
        let store = env.store, signer = env.signer, v = draft
        do {
            if let pad = signature {
                // signed: the visit, the signature and the appointment it keeps, in one transaction
                let capture = SignatureCapture(pad: pad, signerName: signerName, relation: relation)
                let kept = appointment?.id
                let signed = try await io { try store.recordSignedVisit(visit: v, capture: capture, signer: signer, appointmentId: kept) }
                saved = signed.visit
                sealed = signed.signature
                punctuality = signed.punctuality
            } else if let a = appointment {
                let kept = try await io { try store.recordAppointmentVisit(appointmentId: a.id, visit: v) }
                saved = kept.visit
                punctuality = kept.punctuality
            } else {
                saved = try await io { try store.recordVisit(visit: v) }
            }
            problem = nil
            env.sync.refresh()
        } catch { problem = Problem.of(error) }
    }
}

@MainActor
public final class CollectionModel: ObservableObject {
    @Published public var method: PaymentMethod = .cash
    @Published public var amountText: String
    @Published public var cashText = ""
    @Published public var signerName: String
    @Published public var relation: SignerRelation = .householder
    @Published public private(set) var signature: SignaturePad?
    @Published public private(set) var flags: [SignatureFlag] = []
    /// The next number of this phone's receipt book; nil when none is left (sync brings a book).
    @Published public private(set) var receiptNo: String?
    @Published public private(set) var saved: Receipt?
    @Published public private(set) var printoutHtml: String?
    @Published public private(set) var code: String?
    @Published public private(set) var problem: Problem?
    public let line: ArrearsLine
    let env: Env

    public init(env: Env, line: ArrearsLine) {
        self.env = env
        self.line = line
        amountText = formatYuan(fen: line.remainingFen).replacingOccurrences(of: ",", with: "")
        signerName = line.customerName
        receiptNo = (try? env.store.nextReceiptNo()) ?? nil
        if receiptNo == nil {
            problem = Problem(kind: .invalid, detail: "no receipt numbers left on this phone: sync to get a new book", field: "receipt_no")
        }
    }

    public var amountFen: Int64? { Money.parseYuan(amountText) }
    public var cashFen: Int64? { method == .cash ? Money.parseYuan(cashText) : amountFen }
    public var changeFen: Int64? { Money.change(amount: amountFen, cash: cashFen) }
    public var capitals: String { amountFen.flatMap { try? amountInCapitals(fen: $0) } ?? "" }

    public func sign(_ pad: SignaturePad) {
        do { flags = try checkSignature(pad: pad).flags; signature = pad; problem = nil }
        catch { signature = nil; problem = Problem.of(error) }
    }

    /// Records the receipt with the customer's sealed signature, then shows their copy.
    public func collect(company: String) async {
        guard saved == nil else { return }
        func fail(_ field: String, _ rule: String) { problem = Problem(kind: .invalid, detail: rule, field: field) }
        guard let number = receiptNo else { return fail("receipt_no", "no receipt numbers left on this phone: sync to get a new book") }
        guard let amount = amountFen else { return fail("amount_fen", "enter the amount in yuan, e.g. 128.00") }
        guard let cash = cashFen, let change = changeFen else { return fail("cash_received_fen", "the cash received must cover the amount") }
        guard let pad = signature, flags.isEmpty else { return fail("signature", "the customer signs the receipt") }
        let store = env.store, signer = env.signer
        let r = Receipt(gridId: line.account.gridId, receiptNo: number, accountId: line.account.id,
                        householdId: line.account.householdId, owedBeforeFen: line.remainingFen, amountFen: amount,
                        cashReceivedFen: cash, changeFen: change, method: method, collectedAtMs: env.nowMs,
                        zoneOffsetMin: Int64(env.zoneOffsetMin), collectorId: env.session.managerId)
        let capture = SignatureCapture(pad: pad, signerName: signerName, relation: relation)
        do {
            let signed = try await io { try store.recordSignedReceipt(receipt: r, capture: capture, signer: signer) }
            saved = signed.receipt
            code = signed.verificationCode
            printoutHtml = try await io { try store.receiptPrintout(receiptId: signed.receipt.id, companyName: company) }.html
            problem = nil
            env.sync.refresh()
        } catch { problem = Problem.of(error) }
    }
}
