// Per-screen state for the SwiftUI app, as Android's core-logic has it (the day — Today,
// appointments, tickets, the day summary — is in Workday.swift): buildings → households in each
// of the manager's grids, the household archive with its debts and the number to call, the visit
// form (arrival taken when it is shown, signed work order), arrears collection with the change,
// the payment's reference and the sealed receipt, the arrears list and notice, and the receipt
// shared and printed. Every save runs once; unsaved forms outlive their screens (Drafts).
import Foundation
import GridbookFFI

/// What every model needs: the store, the device key, who is using the phone, the sync center,
/// the drafts and the count of local writes.
@MainActor
public struct Env {
    public let store: GridbookStore
    public let signer: DeviceSigner
    public let session: Session
    public let sync: SyncCenter
    public let drafts: Drafts
    public let changes: LocalChanges
    public init(store: GridbookStore, signer: DeviceSigner, session: Session, sync: SyncCenter, drafts: Drafts, changes: LocalChanges) {
        self.store = store; self.signer = signer; self.session = session; self.sync = sync; self.drafts = drafts; self.changes = changes
    }
    var zoneOffsetMin: Int32 { Int32(TimeZone.current.secondsFromGMT() / 60) }
    var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    /// After a local write: the sync indicator counts again, the lists that show it are stale.
    func wrote() { sync.refresh(); changes.bump() }
}

/// A form the customer signs (the visit's work order, the receipt): taking the pad's signature
/// and "sign again" work the same on both, and never after the form was saved. (Internal: the
/// forms expose `sign` and `clearSignature`.)
@MainActor
protocol SignedForm: AnyObject {
    var signature: SignaturePad? { get set }
    var flags: [SignatureFlag] { get set }
    var problem: Problem? { get set }
    var isSaved: Bool { get }
    /// Keeps the form as a draft (it outlives its screen).
    func keep()
}

extension SignedForm {
    /// Takes the signature from the pad: refused if it cannot be one, flagged if implausible.
    func takeSignature(_ pad: SignaturePad) {
        guard !isSaved else { return }
        do {
            let check = try checkSignature(pad: pad)
            signature = pad; flags = check.flags; problem = nil
        } catch {
            signature = nil; flags = []; problem = Problem.of(error)
        }
        keep()
    }

    /// "重签 Sign again": the pad is cleared, and so is the signature the form holds.
    func dropSignature() {
        guard !isSaved else { return }
        signature = nil; flags = []
        keep()
    }
}

@MainActor
public final class BuildingsModel: ObservableObject {
    @Published public private(set) var grid: String
    @Published public private(set) var premises: [Premises] = []
    @Published public private(set) var selected: Premises?
    @Published public private(set) var households: [Household] = []
    @Published public private(set) var found: [Household] = []
    @Published public private(set) var problem: Problem?
    public let env: Env
    public var grids: [String] { env.session.grids }
    public init(env: Env) { self.env = env; grid = env.session.grid }

    public func selectGrid(_ g: String) async {
        guard grids.contains(g) else { return }
        grid = g; selected = nil; households = []; found = []
        await refresh()
    }

    public func refresh() async {
        let store = env.store, grid = grid
        do { premises = try await io { try store.premisesInGrid(gridId: grid) }; problem = nil } catch { problem = Problem.of(error) }
    }

    public func select(_ p: Premises) async {
        let store = env.store
        selected = p
        do { households = try await io { try store.householdsInPremises(premisesId: p.id) } } catch { problem = Problem.of(error) }
    }

    public func search(_ q: String) async {
        guard !q.trimmingCharacters(in: .whitespaces).isEmpty else { found = []; return }
        let store = env.store, grid = grid
        do { found = try await io { try store.searchHouseholds(gridId: grid, query: q, limit: 50) } } catch { problem = Problem.of(error) }
    }

    public func addBuilding(name: String, address: String) async {
        let store = env.store
        let p = Premises(gridId: grid, premisesType: .building, name: name, address: address)
        do { _ = try await io { try store.createPremises(premises: p) }; env.wrote(); await refresh() } catch { problem = Problem.of(error) }
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
    /// What the household still owes: collect or give a notice from its page.
    @Published public private(set) var arrears: [ArrearsLine] = []
    @Published public private(set) var saving = false
    @Published public private(set) var problem: Problem?
    public let env: Env

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
        let store = env.store, id = form.id, grids = env.session.grids
        do {
            form = try await io { try store.household(householdId: id) }
            history = try await io { try store.householdHistory(householdId: id) }
            arrears = try await io { try grids.flatMap { try store.gridArrears(gridId: $0) } }
                .filter { $0.account.householdId == id && $0.remainingFen > 0 }
            revealed = false
        } catch { problem = Problem.of(error) }
    }

    /// Shows ID and phone numbers in full; `purpose` goes to the access trail.
    public func reveal(purpose: String) async {
        let store = env.store, id = form.id
        do { form = try await io { try store.householdRevealed(householdId: id, purpose: purpose) }; revealed = true }
        catch { problem = Problem.of(error) }
    }

    /// The number to dial: shown in full for it (an audited reveal), the mobile else the landline.
    public func numberToCall() async -> String? {
        guard !isNew else { return nil }
        if !revealed { await reveal(purpose: callPurpose) }
        guard revealed else { return nil }
        return dialable(form.mobile) ?? dialable(form.landline) ?? dialable(form.otherContact)
    }

    public func save() async -> SaveOutcome {
        guard !saving else { return .failed }
        saving = true
        defer { saving = false }
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
            env.wrote()
            return .saved
        } catch {
            problem = Problem.of(error)
            return .failed
        }
    }
}

/// The visit form as a draft keeps it.
struct VisitDraft {
    var purpose: VisitPurpose, outcome: String, needs: String, competitorInfo: String, opinions: String
    var openQuestion: String, followUp: String, followUpDue: String, signerName: String, relation: SignerRelation
    var arrivedAtMs: Int64?, signature: SignaturePad?, flags: [SignatureFlag]
}

@MainActor
public final class VisitModel: ObservableObject, SignedForm {
    @Published public var purpose: VisitPurpose = .survey { didSet { textChanged() } }
    @Published public var outcome = "" { didSet { textChanged() } }
    @Published public var needs = "" { didSet { textChanged() } }
    @Published public var competitorInfo = "" { didSet { keep() } }
    @Published public var opinions = "" { didSet { textChanged() } }
    @Published public var openQuestion = "" { didSet { textChanged() } }
    @Published public var followUp = "" { didSet { textChanged() } }
    @Published public var followUpDue = "" { didSet { textChanged() } }
    @Published public var signerName: String { didSet { keep() } }
    @Published public var relation: SignerRelation = .householder { didSet { keep() } }
    /// The work order as the customer reads it before signing: exactly what the core seals.
    @Published public private(set) var workOrder = ""
    @Published public internal(set) var signature: SignaturePad?
    @Published public internal(set) var flags: [SignatureFlag] = []
    /// When the form was first shown at the door; nil until `arrive()`.
    @Published public private(set) var arrivedAtMs: Int64?
    /// Where the phone was at the door (`positionOf`: a fix, or no fix); nil until `locate`.
    @Published public private(set) var location: Position?
    @Published public private(set) var saving = false
    @Published public private(set) var saved: Visit?
    @Published public private(set) var sealed: CustomerSignature?
    /// 准时 / 早到 / 迟到 against the appointment the saved visit kept; nil without one.
    @Published public private(set) var punctuality: Punctuality?
    @Published public internal(set) var problem: Problem?
    public let household: Household
    /// The appointment this visit keeps, if any.
    public let appointment: Appointment?
    public let env: Env
    private let draftKey: String
    private var restoring = true

    /// Made when the screen is pushed; the arrival is taken by `arrive()` when it is shown.
    public init(env: Env, household: Household, appointment: Appointment? = nil) {
        self.env = env
        self.household = household
        self.appointment = appointment
        draftKey = "visit:\(household.id):\(appointment?.id ?? "")"
        signerName = household.customerName
        purpose = appointment?.purpose ?? .survey
        if let d: VisitDraft = env.drafts.get(draftKey) {
            purpose = d.purpose; outcome = d.outcome; needs = d.needs; competitorInfo = d.competitorInfo; opinions = d.opinions
            openQuestion = d.openQuestion; followUp = d.followUp; followUpDue = d.followUpDue; signerName = d.signerName
            relation = d.relation; arrivedAtMs = d.arrivedAtMs; signature = d.signature; flags = d.flags
        }
        workOrder = workOrderText(visit: draft)
        restoring = false
    }

    /// The manager is at the door: the form is on screen. The first call takes the time.
    public func arrive() {
        guard arrivedAtMs == nil, saved == nil else { return }
        arrivedAtMs = env.nowMs
        keep()
    }

    /// Where the phone was at the door, once Core Location answered. The first answer counts; a
    /// saved visit is not changed.
    public func locate(_ position: Position) {
        guard location == nil, saved == nil else { return }
        location = position
    }

    /// A change to the text the customer signs drops their signature: they must sign it again.
    private func textChanged() {
        guard !restoring else { return }
        let text = workOrderText(visit: draft)
        if text != workOrder { workOrder = text; signature = nil; flags = [] }
        keep()
    }

    var isSaved: Bool { saved != nil }
    public func sign(_ pad: SignaturePad) { takeSignature(pad) }
    public func clearSignature() { dropSignature() }

    func keep() {
        guard !restoring, saved == nil else { return }
        env.drafts.put(draftKey, VisitDraft(
            purpose: purpose, outcome: outcome, needs: needs, competitorInfo: competitorInfo, opinions: opinions,
            openQuestion: openQuestion, followUp: followUp, followUpDue: followUpDue, signerName: signerName, relation: relation,
            arrivedAtMs: arrivedAtMs, signature: signature, flags: flags))
    }

    var draft: Visit {
        Visit(gridId: household.gridId, householdId: household.id, appointmentAtMs: appointment?.agreedAtMs, arrivedAtMs: arrivedAtMs ?? 0,
              zoneOffsetMin: Int64(env.zoneOffsetMin), purpose: purpose, outcome: outcome, needs: needs,
              competitorInfo: competitorInfo, opinions: opinions, openQuestion: openQuestion,
              followUp: followUp, followUpDue: followUpDue, managerId: env.session.managerId, location: location)
    }

    /// Records the visit once: a second tap while saving, or after, writes nothing.
    public func submit() async {
        guard !saving, saved == nil else { return }
        if signature != nil && !flags.isEmpty {
            problem = .invalid("signature", "ask the customer to sign again")
            return
        }
        arrive()
        saving = true
        defer { saving = false }
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
            env.drafts.drop(draftKey)
            env.wrote()
        } catch { problem = Problem.of(error) }
    }
}

/// The collection form as a draft keeps it.
struct CollectionDraft {
    var method: PaymentMethod, amountText: String, cashText: String, paymentRef: String
    var signerName: String, relation: SignerRelation, signature: SignaturePad?, flags: [SignatureFlag]
}

@MainActor
public final class CollectionModel: ObservableObject, SignedForm {
    @Published public var method: PaymentMethod = .cash { didSet { if method == .cash { paymentRef = "" }; keep() } }
    @Published public var amountText: String { didSet { keep() } }
    @Published public var cashText = "" { didSet { keep() } }
    /// 交易单号 of a WeChat Pay, Alipay or card payment.
    @Published public var paymentRef = "" { didSet { keep() } }
    @Published public var signerName: String { didSet { keep() } }
    @Published public var relation: SignerRelation = .householder { didSet { keep() } }
    @Published public internal(set) var signature: SignaturePad?
    @Published public internal(set) var flags: [SignatureFlag] = []
    /// The next number of this phone's receipt book; nil when none is left (sync brings a book).
    @Published public private(set) var receiptNo: String?
    @Published public private(set) var saving = false
    @Published public private(set) var saved: Receipt?
    /// Where the phone was when collecting (`positionOf`: a fix, or no fix); nil until `locate`.
    @Published public private(set) var location: Position?
    @Published public private(set) var printoutHtml: String?
    @Published public private(set) var code: String?
    @Published public internal(set) var problem: Problem?
    public let line: ArrearsLine
    public let env: Env
    private let draftKey: String
    private var restoring = true

    public init(env: Env, line: ArrearsLine) {
        self.env = env
        self.line = line
        draftKey = "collect:\(line.account.id)"
        amountText = formatYuan(fen: line.remainingFen).replacingOccurrences(of: ",", with: "")
        signerName = line.customerName
        if let d: CollectionDraft = env.drafts.get(draftKey) {
            method = d.method; amountText = d.amountText; cashText = d.cashText; paymentRef = d.paymentRef
            signerName = d.signerName; relation = d.relation; signature = d.signature; flags = d.flags
        }
        restoring = false
    }

    /// Reads the book's next number off the main thread.
    public func load() async {
        let store = env.store
        do {
            receiptNo = try await io { try store.nextReceiptNo() }
            if receiptNo == nil { problem = .invalid("receipt_no", "no receipt numbers left on this phone: sync to get a new book") }
        } catch { problem = Problem.of(error) }
    }

    public var asksForReference: Bool { method != .cash }
    public var amountFen: Int64? { Money.parseYuan(amountText) }
    public var cashFen: Int64? { method == .cash ? Money.parseYuan(cashText) : amountFen }
    public var changeFen: Int64? { Money.change(amount: amountFen, cash: cashFen) }
    public var capitals: String { amountFen.flatMap { try? amountInCapitals(fen: $0) } ?? "" }

    var isSaved: Bool { saved != nil }
    public func sign(_ pad: SignaturePad) { takeSignature(pad) }
    public func clearSignature() { dropSignature() }

    /// Where the phone was, once Core Location answered (a fix, or no fix after the wait): the
    /// first answer counts, a saved receipt is not changed, collecting never waits for it. The
    /// server flags a receipt far from the household, mocked or without a fix as it does a visit.
    public func locate(_ position: Position) {
        guard location == nil, saved == nil else { return }
        location = position
    }

    func keep() {
        guard !restoring, saved == nil else { return }
        env.drafts.put(draftKey, CollectionDraft(
            method: method, amountText: amountText, cashText: cashText, paymentRef: paymentRef,
            signerName: signerName, relation: relation, signature: signature, flags: flags))
    }

    /// Records the receipt with the customer's sealed signature, then shows their copy. Once:
    /// a second tap while saving, or after, writes nothing and leaves the saved receipt shown.
    public func collect() async {
        guard !saving, saved == nil else { return }
        func fail(_ field: String, _ rule: String) { problem = .invalid(field, rule) }
        guard let number = receiptNo else { return fail("receipt_no", "no receipt numbers left on this phone: sync to get a new book") }
        guard let amount = amountFen else { return fail("amount_fen", "enter the amount in yuan, e.g. 128.00") }
        guard let cash = cashFen, let change = changeFen else { return fail("cash_received_fen", "the cash received must cover the amount") }
        let reference = paymentRef.trimmingCharacters(in: .whitespaces)
        if (method == .wechat || method == .alipay) && reference.isEmpty {
            return fail("payment_ref", "enter the payment's 交易单号 from the customer's payment screen")
        }
        guard let pad = signature, flags.isEmpty else { return fail("signature", "the customer signs the receipt") }
        saving = true
        defer { saving = false }
        let store = env.store, signer = env.signer
        let r = Receipt(gridId: line.account.gridId, receiptNo: number, accountId: line.account.id,
                        householdId: line.account.householdId, owedBeforeFen: line.remainingFen, amountFen: amount,
                        cashReceivedFen: cash, changeFen: change, method: method, collectedAtMs: env.nowMs,
                        zoneOffsetMin: Int64(env.zoneOffsetMin), collectorId: env.session.managerId, paymentRef: reference,
                        location: location)
        let capture = SignatureCapture(pad: pad, signerName: signerName, relation: relation)
        do {
            let signed = try await io { try store.recordSignedReceipt(receipt: r, capture: capture, signer: signer) }
            saved = signed.receipt
            code = signed.verificationCode
            problem = nil
            env.drafts.drop(draftKey)
            env.wrote()
        } catch {
            problem = Problem.of(error)
            return
        }
        // the receipt is saved whatever happens to its preview
        do {
            let id = saved?.id ?? ""
            // the copy as the server configures it (company, seal, check, collector): kept by the core at each sync
            printoutHtml = try await io { try store.receiptPrintout(receiptId: id) }.html
        } catch { problem = Problem.of(error) }
    }
}

/// 欠费清单: what is owed in all of the manager's grids.
@MainActor
public final class ArrearsModel: ObservableObject {
    @Published public private(set) var lines: [ArrearsLine] = []
    @Published public private(set) var problem: Problem?
    public let env: Env
    public init(env: Env) { self.env = env }
    public var remainingFen: Int64 { lines.reduce(0) { $0 + $1.remainingFen } }

    public func refresh() async {
        let store = env.store, grids = env.session.grids
        do {
            lines = try await io { try grids.flatMap { try store.gridArrears(gridId: $0) } }.filter { $0.remainingFen > 0 }
            problem = nil
        } catch { problem = Problem.of(error) }
    }
}

/// 催缴通知: the arrears notice for one account, recorded once.
@MainActor
public final class NoticeModel: ObservableObject {
    @Published public var channel: NoticeChannel = .noticeSlip
    @Published public var outcome = ""
    /// The day the customer promised to pay, if they did.
    @Published public var promisedPay: Date?
    @Published public var notes = ""
    @Published public private(set) var saving = false
    @Published public private(set) var saved: ArrearsNotice?
    @Published public private(set) var problem: Problem?
    public let line: ArrearsLine
    public let env: Env
    public init(env: Env, line: ArrearsLine) { self.env = env; self.line = line }

    public func record() async {
        guard !saving, saved == nil else { return }
        saving = true
        defer { saving = false }
        let store = env.store
        // the end of the promised day, local: paying any time that day keeps the promise
        let promisedAt = promisedPay.map { day -> Int64 in
            let end = Calendar.current.date(bySettingHour: 23, minute: 59, second: 0, of: day) ?? day
            return Int64(end.timeIntervalSince1970 * 1000)
        }
        let n = ArrearsNotice(gridId: line.account.gridId, accountId: line.account.id, householdId: line.account.householdId,
                              channel: channel, givenAtMs: env.nowMs, zoneOffsetMin: Int64(env.zoneOffsetMin),
                              outcome: outcome.trimmingCharacters(in: .whitespaces), promisedPayAtMs: promisedAt,
                              notes: notes.trimmingCharacters(in: .whitespaces), managerId: env.session.managerId)
        do {
            saved = try await io { try store.recordNotice(notice: n) }
            problem = nil
            env.wrote()
        } catch { problem = Problem.of(error) }
    }
}

// MARK: - The receipt the customer takes away

/// Which receipts this phone printed (UserDefaults): the first print on the phone that collected
/// a receipt is the original, every other one a copy (副本 / COPY, drawn by the core).
public enum PrintLog {
    static let key = "gridbook.printed"
    public static func timesPrinted(_ receiptId: String) -> Int {
        (UserDefaults.standard.dictionary(forKey: key)?[receiptId] as? Int) ?? 0
    }
    public static func printed(_ receiptId: String) {
        var all = UserDefaults.standard.dictionary(forKey: key) ?? [:]
        all[receiptId] = timesPrinted(receiptId) + 1
        UserDefaults.standard.set(all, forKey: key)
    }
}

/// The receipt as a picture for the share sheet and as ESC/POS bytes for a Bluetooth printer, as
/// the server configures the copy (company, seal, check address, collector and staff number).
@MainActor
public final class ReceiptPrinting {
    public let env: Env
    private let font: () -> Data?
    public init(env: Env, font: @escaping () -> Data?) { self.env = env; self.font = font }

    public func isReprint(_ r: Receipt) -> Bool { r.deviceId != env.session.deviceId || PrintLog.timesPrinted(r.id) > 0 }

    private func fontData() throws -> Data {
        guard let f = font() else { throw Problem.invalid("font", "this phone has no Chinese font to draw the receipt with") }
        return f
    }

    public func image(_ r: Receipt) async throws -> Data {
        let store = env.store, f = try fontData()
        return try await io { try store.receiptImage(receiptId: r.id, font: f) }
    }

    /// The printer's bytes, and whether they are a copy.
    public func job(_ r: Receipt, paper: PaperWidth) async throws -> (bytes: Data, reprint: Bool) {
        let store = env.store, f = try fontData(), reprint = isReprint(r)
        let bytes = try await io { try store.receiptEscpos(receiptId: r.id, font: f, paper: paper, reprint: reprint) }
        return (bytes, reprint)
    }

    /// The printer took the job: the next print of this receipt is a copy.
    public func printed(_ r: Receipt) { PrintLog.printed(r.id) }
}
