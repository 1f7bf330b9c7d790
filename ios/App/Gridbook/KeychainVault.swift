// The store's key vault behind the iOS Keychain: an AES-256 key (CryptoKit) kept in the Keychain
// with WhenUnlockedThisDeviceOnly access (never in a backup, never on another phone) wraps the
// store's 32-byte data key; the wrapped bytes sit beside the store (`gridbook.db-key`, written by
// the core). Implements the core's KeyVault seam (docs/at-rest.md).
import CryptoKit
import Foundation
import GridbookFFI
import Security

final class KeychainVault: KeyVault, @unchecked Sendable {
    private static let account = "app.gridbook.store-key-wrap"

    func wrap(key: Data) throws -> Data {
        let wrapping = try Self.wrappingKey(create: true)
        do {
            guard let sealed = try AES.GCM.seal(key, using: wrapping).combined else {
                throw GridbookError.KeyUnavailable(detail: "AES-GCM gave no combined form")
            }
            return sealed
        } catch let e as GridbookError { throw e }
        catch { throw GridbookError.KeyUnavailable(detail: "wrapping the store key: \(error)") }
    }

    func unwrap(wrapped: Data) throws -> Data {
        let wrapping = try Self.wrappingKey(create: false)
        do { return try AES.GCM.open(try AES.GCM.SealedBox(combined: wrapped), using: wrapping) }
        catch { throw GridbookError.WrongKey(detail: "the Keychain key did not wrap this store's key") }
    }

    func destroyKey() throws {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrAccount as String: Self.account]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw GridbookError.KeyUnavailable(detail: "keychain delete failed: \(status)")
        }
    }

    private static func wrappingKey(create: Bool) throws -> SymmetricKey {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var out: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &out)
        if status == errSecSuccess, let data = out as? Data { return SymmetricKey(data: data) }
        if status == errSecInteractionNotAllowed {
            throw GridbookError.KeyUnavailable(detail: "the phone is locked")
        }
        guard status == errSecItemNotFound else { throw GridbookError.KeyUnavailable(detail: "keychain read failed: \(status)") }
        guard create else { throw GridbookError.WrongKey(detail: "no Keychain key: this phone did not wrap the store's key") }
        let key = SymmetricKey(size: .bits256)
        let item: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            kSecValueData as String: key.withUnsafeBytes { Data($0) },
        ]
        let added = SecItemAdd(item as CFDictionary, nil)
        guard added == errSecSuccess else { throw GridbookError.KeyUnavailable(detail: "keychain write failed: \(added)") }
        return key
    }
}
