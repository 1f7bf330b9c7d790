// Printing the customer's receipt on a portable Bluetooth LE thermal printer (the 58 / 80 mm
// ESC/POS kind collectors carry): CoreBluetooth finds printers nearby, connects, looks for a
// characteristic it can write to (the common printer services first), and writes the core's
// ESC/POS bytes in pieces no larger than the link takes, waiting when the printer's buffer is
// full. The system font for the receipt picture comes from here too (PingFang).
import CoreBluetooth
import CoreText
import GridbookFFI
import GridbookKit
import SwiftUI

/// A CJK font's bytes for the core to draw the receipt with: PingFang SC's file, read once.
enum SystemFont {
    static let cjk: () -> Data? = {
        let font = CTFontCreateWithName("PingFangSC-Regular" as CFString, 20, nil)
        guard let url = CTFontCopyAttribute(font, kCTFontURLAttribute) as? URL else { return nil }
        return try? Data(contentsOf: url)
    }
}

@MainActor
final class BluetoothPrinter: NSObject, ObservableObject, CBCentralManagerDelegate, CBPeripheralDelegate {
    /// Services the common portable printers write through (vendor UART services), tried first.
    static let printerServices = ["18F0", "FF00", "FFE0", "E7810A71-73AE-499D-8C15-FAA9AEF0C3F2", "49535343-FE7D-4AE5-8FA9-9FAFD205E455"].map(CBUUID.init)
    @Published private(set) var found: [CBPeripheral] = []
    @Published private(set) var state: String = ""
    @Published private(set) var busy = false
    private var central: CBCentralManager?
    private var target: CBPeripheral?
    private var writer: CBCharacteristic?
    private var pending = Data()
    private var done: CheckedContinuation<Bool, Never>?

    func scan() {
        if central == nil { central = CBCentralManager(delegate: self, queue: .main) }
        if central?.state == .poweredOn { central?.scanForPeripherals(withServices: nil) }
    }

    func stop() { central?.stopScan() }

    /// Sends `bytes` to `printer`; true when every byte was written.
    func print(_ bytes: Data, to printer: CBPeripheral) async -> Bool {
        guard !busy, let central else { return false }
        busy = true
        defer { busy = false }
        central.stopScan()
        pending = bytes
        writer = nil
        target = printer
        printer.delegate = self
        state = L("printer.connecting")
        let ok = await withCheckedContinuation { c in
            done = c
            central.connect(printer)
        }
        central.cancelPeripheralConnection(printer)
        state = ok ? L("printer.done") : L("printer.failed")
        return ok
    }

    private func finish(_ ok: Bool) {
        done?.resume(returning: ok)
        done = nil
    }

    /// Writes what the link takes now; the rest when the printer says it is ready.
    private func pump() {
        guard let p = target, let w = writer else { return }
        let withResponse = !w.properties.contains(.writeWithoutResponse)
        let type: CBCharacteristicWriteType = withResponse ? .withResponse : .withoutResponse
        let size = max(20, p.maximumWriteValueLength(for: type))
        while !pending.isEmpty && (withResponse || p.canSendWriteWithoutResponse) {
            let chunk = pending.prefix(size)
            pending.removeFirst(chunk.count)
            p.writeValue(Data(chunk), for: w, type: type)
            if withResponse { return }  // the next one after didWriteValueFor
        }
        if pending.isEmpty && !withResponse { finish(true) }
    }

    nonisolated func centralManagerDidUpdateState(_ central: CBCentralManager) {
        Task { @MainActor in
            if central.state == .poweredOn { central.scanForPeripherals(withServices: nil) }
            else { self.state = L("printer.bluetooth_off") }
        }
    }

    nonisolated func centralManager(_ central: CBCentralManager, didDiscover peripheral: CBPeripheral, advertisementData: [String: Any], rssi: NSNumber) {
        Task { @MainActor in
            guard peripheral.name?.isEmpty == false, !self.found.contains(where: { $0.identifier == peripheral.identifier }) else { return }
            self.found.append(peripheral)
        }
    }

    nonisolated func centralManager(_ central: CBCentralManager, didConnect peripheral: CBPeripheral) {
        Task { @MainActor in peripheral.discoverServices(nil) }
    }

    nonisolated func centralManager(_ central: CBCentralManager, didFailToConnect peripheral: CBPeripheral, error: Error?) {
        Task { @MainActor in self.finish(false) }
    }

    nonisolated func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
        Task { @MainActor in
            let services = peripheral.services ?? []
            guard !services.isEmpty else { return self.finish(false) }
            for s in services { peripheral.discoverCharacteristics(nil, for: s) }
        }
    }

    nonisolated func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
        Task { @MainActor in
            guard self.writer == nil else { return }
            let writable = (service.characteristics ?? []).first { $0.properties.contains(.writeWithoutResponse) || $0.properties.contains(.write) }
            // a known printer service wins; another writable characteristic is used when no known one turns up
            if let w = writable, Self.printerServices.contains(service.uuid) || service == peripheral.services?.last {
                self.writer = w
                self.state = L("printer.printing")
                self.pump()
            } else if service == peripheral.services?.last {
                self.finish(false)
            }
        }
    }

    nonisolated func peripheralIsReady(toSendWriteWithoutResponse peripheral: CBPeripheral) {
        Task { @MainActor in self.pump() }
    }

    nonisolated func peripheral(_ peripheral: CBPeripheral, didWriteValueFor characteristic: CBCharacteristic, error: Error?) {
        Task { @MainActor in
            if error != nil { return self.finish(false) }
            if self.pending.isEmpty { self.finish(true) } else { self.pump() }
        }
    }
}

/// Choose the paper and the printer, print; the first print of a receipt here is the original,
/// every later one a copy (the core marks it 副本 / COPY).
struct PrintSheet: View {
    let receipt: Receipt
    let printing: ReceiptPrinting
    @StateObject private var printer = BluetoothPrinter()
    @AppStorage("gridbook.paper80") private var wide = false
    @State private var problem: Problem?
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            List {
                Picker(L("printer.paper"), selection: $wide) {
                    Text(L("printer.paper58")).tag(false)
                    Text(L("printer.paper80")).tag(true)
                }.pickerStyle(.segmented)
                if printing.isReprint(receipt) { Text(L("printer.copy")).foregroundStyle(.orange) }
                Text(printer.state).font(.caption)
                ProblemBanner(problem: problem)
                Section(L("printer.nearby")) {
                    if printer.found.isEmpty { ProgressView() }
                    ForEach(printer.found, id: \.identifier) { p in
                        Button(p.name ?? p.identifier.uuidString) { Task { await send(to: p) } }.disabled(printer.busy)
                    }
                }
            }
            .navigationTitle(L("receipt.print"))
            .toolbar { ToolbarItem(placement: .cancellationAction) { Button(L("back")) { dismiss() } } }
            .onAppear { printer.scan() }
            .onDisappear { printer.stop() }
        }
    }

    private func send(to p: CBPeripheral) async {
        do {
            let job = try await printing.job(receipt, paper: wide ? .mm80 : .mm58)
            if await printer.print(job.bytes, to: p) { printing.printed(receipt) }
        } catch { problem = Problem.of(error) }
    }
}
