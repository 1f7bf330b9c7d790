// The device key behind the iOS Keychain: an Ed25519 key (CryptoKit Curve25519.Signing) whose
// private bytes live only in the Keychain, this device only, available after first unlock. It
// implements the core's DeviceSigner seam (docs/mobile.md, "The device key").
import CryptoKit
import Foundation
import GridbookFFI
import Security

final class KeychainSigner: DeviceSigner, @unchecked Sendable {
    private static let account = "app.gridbook.device-key"
    private let key: Curve25519.Signing.PrivateKey

    private init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// The device's key, made and stored on first use.
    static func load() throws -> KeychainSigner {
        if let raw = try read() {
            return KeychainSigner(key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        }
        let key = Curve25519.Signing.PrivateKey()
        try store(key.rawRepresentation)
        return KeychainSigner(key: key)
    }

    /// Deletes the device key (after a remote wipe: a new store is a new device, with a new key).
    static func delete() {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrAccount as String: account]
        SecItemDelete(query as CFDictionary)
    }

    func publicKey() throws -> Data { key.publicKey.rawRepresentation }

    func sign(message: Data) throws -> Data {
        do { return try key.signature(for: message) }
        catch { throw GridbookError.Other(detail: "device key unavailable: \(error)") }
    }

    private static func read() throws -> Data? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var out: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &out)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess else { throw GridbookError.Other(detail: "keychain read failed: \(status)") }
        return out as? Data
    }

    private static func store(_ data: Data) throws {
        let item: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: data,
        ]
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else { throw GridbookError.Other(detail: "keychain write failed: \(status)") }
    }
}
